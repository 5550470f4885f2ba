import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let vipAccount: string;

beforeAll(async () => {
  stack = await startStack();
  await stack.importTokens(['tok-keys-1', 'tok-keys-2']);
  [vipAccount] = await stack.importTokens(['tok-keys-vip'], { tags: ['vip'] });
});
afterAll(() => stack.close());

const chat = (key: string, model = 'grok-4') =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string; [k: string]: unknown }> {
  const res = await stack.admin('POST', '/admin/api/keys', body);
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; key: string };
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expectValid('ErrorResponse', body);
  expect(body.error.code).toBe(code);
  return body;
}

describe('client keys from the admin API', () => {
  it('creates a key whose secret is shown once and stored only as a hash', async () => {
    const created = await createKey({ name: 'ci', rpm: 100 });
    expect(created.key).toMatch(/^sk-g2a-/);
    const res = await chat(created.key);
    expect(res.status).toBe(200);
    expectValid('CreateChatCompletionResponse', await res.json());

    const list = (await (await stack.admin('GET', '/admin/api/keys')).json()) as { keys: Record<string, unknown>[] };
    const listed = list.keys.find((k) => k.id === created.id)!;
    expect(listed.name).toBe('ci');
    expect(listed.key).toBeUndefined();
    expect(listed.last_used_at).not.toBeNull();
    expect(JSON.stringify(list)).not.toContain(created.key);
    const file = readFileSync(join(stack.dataDir, 'keys.json'), 'utf8');
    expect(file).not.toContain(created.key);
  });

  it('refuses the third request in a minute of an rpm: 2 key with 429 and Retry-After', async () => {
    const { key } = await createKey({ name: 'slow', rpm: 2 });
    expect((await chat(key)).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    const res = await chat(key);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const body = await expectError(res, 429, 'rate_limit_exceeded');
    expect(body.error.type).toBe('rate_limit_error');
  });

  it('applies the per-day limit too', async () => {
    const { key } = await createKey({ name: 'daily', rpd: 1 });
    expect((await chat(key)).status).toBe(200);
    const res = await chat(key);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3600);
    await expectError(res, 429, 'rate_limit_exceeded');
  });

  it('answers 401 for an expired key', async () => {
    const { key } = await createKey({ name: 'old', expires_at: new Date(Date.now() - 1000).toISOString() });
    await expectError(await chat(key), 401, 'invalid_api_key');
  });

  it('answers 403 model_not_allowed for a model outside the allowlist', async () => {
    const { key } = await createKey({ name: 'one-model', models: ['grok-3'] });
    expect((await chat(key, 'grok-3')).status).toBe(200);
    const body = await expectError(await chat(key, 'grok-4'), 403, 'model_not_allowed');
    expect(body.error.type).toBe('permission_error');
    // /v1/models lists only what the key may use; another model is not found for it.
    const auth = { authorization: `Bearer ${key}` };
    const list = await (await fetch(`${stack.url}/v1/models`, { headers: auth })).json();
    expect(list.data.map((m: { id: string }) => m.id)).toEqual(['grok-3']);
    expect((await fetch(`${stack.url}/v1/models/grok-3`, { headers: auth })).status).toBe(200);
    await expectError(await fetch(`${stack.url}/v1/models/grok-4`, { headers: auth }), 404, 'model_not_found');
  });

  it('stops a revoked key at once, and a disabled one until re-enabled', async () => {
    const { id, key } = await createKey({ name: 'doomed' });
    expect((await chat(key)).status).toBe(200);
    expect((await stack.admin('PATCH', `/admin/api/keys/${id}`, { enabled: false })).status).toBe(200);
    await expectError(await chat(key), 401, 'invalid_api_key');
    expect((await stack.admin('PATCH', `/admin/api/keys/${id}`, { enabled: true })).status).toBe(200);
    expect((await chat(key)).status).toBe(200);
    expect((await stack.admin('DELETE', `/admin/api/keys/${id}`)).status).toBe(200);
    await expectError(await chat(key), 401, 'invalid_api_key');
    await expectError(await stack.admin('DELETE', `/admin/api/keys/${id}`), 404, 'not_found');
  });

  it('serves a key with account tags only from accounts carrying them', async () => {
    const { key } = await createKey({ name: 'vip-only', tags: ['vip'] });
    for (let i = 0; i < 3; i++) expect((await chat(key)).status).toBe(200);
    const { logs } = (await (await stack.admin('GET', '/admin/api/logs?limit=3')).json()) as { logs: { key_name: string; account_id: string }[] };
    expect(logs.map((l) => l.key_name)).toEqual(['vip-only', 'vip-only', 'vip-only']);
    expect(new Set(logs.map((l) => l.account_id))).toEqual(new Set([vipAccount]));
  });

  it('keeps API_KEY keys unlimited and still refuses unknown keys', async () => {
    expect((await chat(API_KEY)).status).toBe(200);
    await expectError(await chat('sk-g2a-not-a-real-key'), 401, 'invalid_api_key');
  });

  it('validates the admin input with OpenAI-shaped errors', async () => {
    await expectError(await stack.admin('POST', '/admin/api/keys', { rpm: 2 }), 400, 'missing_required_parameter');
    await expectError(await stack.admin('POST', '/admin/api/keys', { name: 'x', rpm: 0 }), 400, 'invalid_value');
    await expectError(await stack.admin('POST', '/admin/api/keys', { name: 'x', models: ['no-such-model'] }), 400, 'invalid_value');
    await expectError(await stack.admin('POST', '/admin/api/keys', { name: 'x', expires_at: 'tomorrow' }), 400, 'invalid_value');
    await expectError(await stack.admin('PATCH', '/admin/api/keys/key_nope', { rpm: 5 }), 404, 'not_found');
  });
});

describe('stats and the request log', () => {
  it('counts requests per hour, model, account and key, and logs no content', async () => {
    const res = await stack.admin('GET', '/admin/api/stats');
    expect(res.status).toBe(200);
    const stats = await res.json();
    expect(stats.summary.total).toBeGreaterThan(5);
    expect(stats.summary.failed).toBeGreaterThan(0);
    expect(stats.summary.success_rate).toBeGreaterThan(0);
    expect(stats.hourly).toHaveLength(24);
    expect(stats.hourly[23].total).toBeGreaterThan(0);
    expect(stats.daily).toHaveLength(7);
    expect(stats.models.map((m: { model: string }) => m.model)).toContain('grok-4');
    expect(stats.keys.map((k: { key_name: string }) => k.key_name)).toContain('slow');
    expect(stats.accounts.map((a: { account_id: string }) => a.account_id)).toContain(vipAccount);
    expect(stats.accounts_by_status.active).toBe(3);

    const logs = await (await stack.admin('GET', '/admin/api/logs?limit=1000')).json();
    const text = JSON.stringify(logs);
    expect(text).not.toContain('hello');
    expect(text).not.toContain('tok-keys');
    expect(text).not.toContain('sk-g2a-');
    expect(logs.logs.some((l: { status: number }) => l.status === 429)).toBe(true);
    expect(logs.logs[0]).toMatchObject({ route: '/v1/chat/completions', method: 'POST' });
    await expectError(await stack.admin('GET', '/admin/api/logs?limit=0'), 400, 'invalid_value');
  });
});

describe('API_KEY as a runtime setting', () => {
  it('replaces the config keys at once when app.api_key is changed in the settings', async () => {
    const res = await stack.admin('PUT', '/admin/api/settings', { app: { api_key: 'sk-rotated-1, sk-rotated-2' } });
    expect(res.status).toBe(200);
    expect((await chat('sk-rotated-2')).status).toBe(200);
    await expectError(await chat(API_KEY), 401, 'invalid_api_key');
  });
});
