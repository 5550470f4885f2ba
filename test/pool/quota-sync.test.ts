import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferTier } from '../../src/upstream/grok/quota.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const tokensById = async () => ((await (await stack.admin('GET', '/admin/api/tokens')).json()) as { tokens: any[] }).tokens;

describe('quota sync', () => {
  it('infers the tier from the quota totals, the lower one on conflict', () => {
    expect(inferTier({ fast: { remaining: 1, total: 30, windowSeconds: 86400 } })).toBe('basic');
    expect(inferTier({ fast: { remaining: 1, total: 140, windowSeconds: 7200 }, auto: { remaining: 1, total: 50, windowSeconds: 7200 } })).toBe('super');
    expect(inferTier({ fast: { remaining: 1, total: 400, windowSeconds: 7200 }, auto: { remaining: 1, total: 150, windowSeconds: 7200 } })).toBe('heavy');
    expect(inferTier({ fast: { remaining: 1, total: 400, windowSeconds: 7200 }, auto: { remaining: 1, total: 50, windowSeconds: 7200 } })).toBe('super');
    expect(inferTier({})).toBeNull();
    // A heavy window means heavy, whatever the other totals say.
    expect(inferTier({ fast: { remaining: 1, total: 140, windowSeconds: 7200 }, heavy: { remaining: 0, total: 20, windowSeconds: 7200 } })).toBe('heavy');
  });

  it('infers heavy from the heavy window when the other totals look like super, and shows the imagine windows with the chat ones', async () => {
    stack.fake.setAccount('qs-heavy-odd', { tier: 'heavy', quotaTotals: { fast: 140, auto: 50 } });
    const [id] = await stack.importTokens(['qs-heavy-odd'], { tier: 'basic' });
    const res = (await (await stack.admin('POST', '/admin/api/tokens/refresh', { ids: [id] })).json()) as { results: any[] };
    expect(res.results[0]).toMatchObject({ ok: true, tier: 'heavy' });
    const acc = (await tokensById()).find((t) => t.id === id);
    expect(acc.tier).toBe('heavy');
    expect(acc.quotas.heavy).toMatchObject({ total: 20 });
    expect(acc.quotas['imagine:image']).toMatchObject({ remaining: 500, total: 500, window_seconds: 86400, reset_at: null });
    expect(Object.keys(acc.quotas).filter((k) => k.startsWith('imagine:')).sort()).toEqual(['imagine:image', 'imagine:image_edit', 'imagine:image_pro', 'imagine:video', 'imagine:video_720p']);
    const call = stack.fake.requests.find((r) => r.path === '/rest/media/imagine/quota_info' && r.token === 'qs-heavy-odd')!;
    expect(call.body).toEqual({});
    expect(String(call.headers.referer)).toMatch(/\/imagine$/);
  });

  it('syncs every mode of the account and its real tier on POST /admin/api/tokens/refresh', async () => {
    stack.fake.setAccount('qs-heavy', { tier: 'heavy' });
    stack.fake.setAccount('qs-basic', { tier: 'basic' });
    const [heavy, basic] = await stack.importTokens(['qs-heavy', 'qs-basic']);
    const res = await stack.admin('POST', '/admin/api/tokens/refresh', { ids: [heavy, basic] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: any[]; synced: number };
    expect(body.synced).toBe(2);
    const list = await tokensById();
    const h = list.find((t) => t.id === heavy);
    expect(h.tier).toBe('heavy');
    expect(Object.keys(h.quotas).filter((k) => !k.startsWith('imagine:')).sort()).toEqual(['auto', 'build', 'expert', 'fast', 'grok-420-computer-use-sa', 'heavy']);
    expect(h.quotas.build).toMatchObject({ total: 10, window_seconds: 7200 });
    expect(h.quotas.heavy).toMatchObject({ remaining: 20, total: 20, window_seconds: 7200, reset_at: null });
    const b = list.find((t) => t.id === basic);
    expect(b).toMatchObject({ tier: 'basic', quotas: { fast: { remaining: 30, total: 30, window_seconds: 86400 } } });
    const calls = stack.fake.requests.filter((r) => r.path === '/rest/rate-limits' && r.token === 'qs-heavy');
    expect(calls.map((c) => c.body.modelName).sort()).toEqual(['auto', 'build', 'expert', 'fast', 'grok-420-computer-use-sa', 'heavy']);
    // A basic account is asked for fast, heavy (which tells the tier; grok.com answers 400) and build.
    const basicCalls = stack.fake.requests.filter((r) => r.path === '/rest/rate-limits' && r.token === 'qs-basic');
    expect(basicCalls.map((c) => c.body.modelName).sort()).toEqual(['build', 'fast', 'heavy']);
    expect(Object.keys(b.quotas).filter((k) => !k.startsWith('imagine:')).sort()).toEqual(['build', 'fast']);
  });

  it('reports the spent quota after chats and marks an account invalid on a dead credential', async () => {
    const own = await startStack();
    try {
      const list = async () => ((await (await own.admin('GET', '/admin/api/tokens')).json()) as { tokens: any[] }).tokens;
      const [live, dead] = await own.importTokens(['qs-live', 'qs-dead']);
      own.fake.setAccount('qs-dead', { state: 'invalid' });
      await own.admin('POST', '/admin/api/tokens/refresh', { ids: [live] });
      await own.admin('PATCH', `/admin/api/tokens/${dead}`, { status: 'disabled' });
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${own.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: 'Bearer sk-test-client-key', 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: `qs-turn-${i}` }] }),
        });
        expect(r.status).toBe(200);
      }
      await own.admin('PATCH', `/admin/api/tokens/${dead}`, { status: 'active' });
      const res = (await (await own.admin('POST', '/admin/api/tokens/refresh', { ids: [live, dead, 'nope'] })).json()) as { results: any[] };
      expect(res.results.map((r) => [r.id, r.ok])).toEqual([[live, true], [dead, false], ['nope', false]]);
      expect(res.results[1].status).toBe('invalid');
      const after = await list();
      expect(own.fake.quota('qs-live', 'fast').remaining).toBe(28);
      expect(after.find((t) => t.id === live).quotas.fast).toMatchObject({ remaining: 28, total: 30 });
      expect(after.find((t) => t.id === live).quotas.fast.reset_at).not.toBeNull();
      expect(after.find((t) => t.id === dead)).toMatchObject({ status: 'invalid' });
      expect(after.find((t) => t.id === dead).last_error).toContain('upstream_auth_failed');
    } finally {
      await own.close();
    }
  });

  it('syncs imported accounts by itself when token.sync_on_import is on', async () => {
    const own = await startStack({ fake: stack.fake, overrides: { token: { sync_on_import: true } } });
    try {
      stack.fake.setAccount('qs-import-super', { tier: 'super' });
      const [id] = await own.importTokens(['qs-import-super']);
      await stack.fake.waitFor((r) => r.path === '/rest/rate-limits' && r.token === 'qs-import-super' && r.body?.modelName === 'expert', 5000);
      let acc;
      for (let i = 0; i < 100; i++) {
        acc = (await (await own.admin('GET', '/admin/api/tokens')).json()).tokens.find((t: any) => t.id === id);
        if (acc.tier === 'super' && acc.quotas.expert) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(acc).toMatchObject({ tier: 'super', quotas: { expert: { total: 50 } } });
    } finally {
      await own.close();
    }
  });

  it('the scheduler syncs due accounts once, and skips them until they are due again', async () => {
    const own = await startStack({ fake: stack.fake, overrides: { token: { auto_refresh: true } } });
    try {
      const [id] = await own.importTokens(['qs-sched']);
      const first = await own.runtime.services.quotaSync.tick();
      expect(first.find((r) => r.id === id)).toMatchObject({ ok: true, tier: 'basic' });
      const second = await own.runtime.services.quotaSync.tick();
      expect(second.find((r) => r.id === id)).toBeUndefined();
    } finally {
      await own.close();
    }
  });
});
