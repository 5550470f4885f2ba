import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * Account lifecycle through the admin API on a real app: export (masked by default, tokens only
 * with include_secrets=true) and its round trip through the import route into another instance,
 * bulk delete by status with its dry run and confirmation, and the last failure with its time in
 * the account list.
 */
interface Exported {
  object: string;
  version: number;
  secrets: boolean;
  accounts: { id: string; kind: string; token: string; tier: string; status: string; tags: string[]; note: string; last_error: string | null; last_error_at: string | null }[];
}
interface Listed {
  tokens: { id: string; status: string; tier: string; tags: string[]; note: string; kind: string; last_error: string | null; last_error_at: string | null }[];
}

describe('account lifecycle (admin API)', () => {
  let a: Stack;
  let b: Stack;
  const TOKENS = ['lifecycle-token-aaaa-0001', 'lifecycle-token-bbbb-0002', 'lifecycle-token-cccc-0003'];
  const XAI = 'xai-lifecycle-key-0004';

  beforeAll(async () => {
    [a, b] = await Promise.all([startStack(), startStack()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const list = async (s: Stack) => ((await (await s.admin('GET', '/admin/api/tokens')).json()) as Listed).tokens;
  const exportOf = async (s: Stack, query = '') => {
    const res = await s.admin('GET', `/admin/api/tokens/export${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="grok2api-accounts-\d{4}-\d\d-\d\d(-secrets)?\.json"$/);
    return (await res.json()) as Exported;
  };

  it('exports masked tokens by default and the tokens themselves only with include_secrets=true; the export imports back', async () => {
    const [t1, t2] = await a.importTokens(TOKENS.slice(0, 2), { tier: 'super', tags: ['eu'] });
    const [t3] = await a.importTokens([TOKENS[2]!], { tier: 'heavy' });
    await a.importTokens([XAI], { kind: 'xai', tags: ['api'] });
    await a.admin('PATCH', `/admin/api/tokens/${t2}`, { status: 'disabled', note: 'kept for later' });
    await a.admin('PATCH', `/admin/api/tokens/${t3}`, { note: 'heavy one' });

    const masked = await exportOf(a);
    expect(masked).toMatchObject({ object: 'grok2api.accounts', version: 1, secrets: false });
    expect(masked.accounts).toHaveLength(4);
    const raw = JSON.stringify(masked);
    for (const t of [...TOKENS, XAI]) expect(raw).not.toContain(t);
    expect(masked.accounts[0]).toMatchObject({ id: t1, token: 'lifecy…0001', tier: 'super', tags: ['eu'], status: 'active' });
    expect((await a.admin('GET', '/admin/api/tokens/export?include_secrets=yes')).status).toBe(400);
    expect(await exportOf(a, '?include_secrets=false')).toMatchObject({ secrets: false });

    // A masked export cannot be imported: nothing is added and the response says why.
    const refused = await b.admin('POST', '/admin/api/tokens', masked);
    expect(refused.status).toBe(200);
    expect(await refused.json()).toMatchObject({ added: 0, invalid: 4, masked: 4 });
    expect(await list(b)).toEqual([]);

    const full = await exportOf(a, '?include_secrets=true');
    expect(full.secrets).toBe(true);
    expect(full.accounts.map((x) => x.token)).toEqual([...TOKENS, XAI]);
    expect(a.logs.some((l) => l.includes('accounts exported with their tokens'))).toBe(true);
    // No token in any log line, even the audit one.
    expect(a.logs.some((l) => TOKENS.some((t) => l.includes(t)))).toBe(false);

    // The export file, posted as it is, recreates the same accounts on the other instance.
    const res = await b.admin('POST', '/admin/api/tokens', full);
    expect(await res.json()).toMatchObject({ added: 4, skipped: 0, invalid: 0 });
    const strip = (xs: Listed['tokens']) => xs.map(({ id, status, tier, tags, note, kind }) => ({ id, status, tier, tags, note, kind }));
    expect(strip(await list(b))).toEqual(strip(await list(a)));
    expect((await list(b)).find((x) => x.id === t2)).toMatchObject({ status: 'disabled', note: 'kept for later', tier: 'super' });
    // Posting it again skips every one of them.
    expect(await (await b.admin('POST', '/admin/api/tokens', full)).json()).toMatchObject({ added: 0, skipped: 4 });
    // The filters of the list apply to the export too.
    expect((await exportOf(a, '?kind=xai&include_secrets=true')).accounts.map((x) => x.token)).toEqual([XAI]);
  });

  it('shows the last failure and when it happened in the list and the export', async () => {
    const [id] = await a.importTokens(['lifecycle-failing-0005']);
    const before = Date.now();
    await a.runtime.services.store.markInvalid(id!, 'upstream_auth_failed: grok.com answered 401');
    const row = (await list(a)).find((x) => x.id === id)!;
    expect(row).toMatchObject({ status: 'invalid', last_error: 'upstream_auth_failed: grok.com answered 401' });
    expect(Date.parse(row.last_error_at!)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(row.last_error_at!)).toBeLessThanOrEqual(Date.now());
    expect((await list(a)).find((x) => x.id !== id)!.last_error_at).toBeNull();
    expect((await exportOf(a)).accounts.find((x) => x.id === id)).toMatchObject({ status: 'invalid', last_error_at: row.last_error_at });
  });

  it('deletes by status only with confirm: true, after an optional dry run, and says how many', async () => {
    const store = a.runtime.services.store;
    const [dead, spent] = await a.importTokens(['lifecycle-dead-0006', 'lifecycle-spent-0007']);
    await store.markInvalid(dead!, 'dead');
    await store.setQuotas(spent!, { fast: { remaining: 0, total: 20, windowSeconds: 7200, resetAt: Date.now() + 3_600_000 } });
    const invalidNow = (await list(a)).filter((x) => x.status === 'invalid').map((x) => x.id);
    expect(invalidNow).toContain(dead);

    const dry = await a.admin('POST', '/admin/api/tokens/delete-by-status', { status: ['invalid', 'exhausted'], dry_run: true });
    expect(await dry.json()).toEqual({ dry_run: true, matched: invalidNow.length + 1, deleted: 0, ids: expect.arrayContaining([...invalidNow, spent]) });

    const unconfirmed = await a.admin('POST', '/admin/api/tokens/delete-by-status', { status: 'invalid' });
    expect(unconfirmed.status).toBe(400);
    const err = ((await unconfirmed.json()) as { error: { code: string; param: string; message: string } }).error;
    expect(err).toMatchObject({ code: 'missing_required_parameter', param: 'confirm' });
    expect(err.message).toContain(`${invalidNow.length} account(s) are invalid now`);

    const bad = await a.admin('POST', '/admin/api/tokens/delete-by-status', { status: ['broken'], confirm: true });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string; param: string } }).error).toMatchObject({ code: 'invalid_value', param: 'status' });

    const before = (await list(a)).length;
    const res = await a.admin('POST', '/admin/api/tokens/delete-by-status', { status: ['invalid', 'exhausted'], confirm: true });
    const body = (await res.json()) as { deleted: number; ids: string[] };
    expect(body.deleted).toBe(invalidNow.length + 1);
    expect(body.ids.sort()).toEqual([...invalidNow, spent!].sort());
    const after = await list(a);
    expect(after).toHaveLength(before - body.deleted);
    expect(after.some((x) => x.status === 'invalid' || x.id === spent)).toBe(false);
    // Nothing left to match: a second call deletes nothing.
    expect(await (await a.admin('POST', '/admin/api/tokens/delete-by-status', { status: 'invalid', confirm: true })).json()).toEqual({ deleted: 0, ids: [] });
  });
});
