import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ overrides: { grok: { cf_clearance: 'secret-clearance' } } });
});
afterAll(() => stack.close());

describe('runtime settings (local storage)', () => {
  it('shows the editable sections with secrets masked', async () => {
    const res = await stack.admin('GET', '/admin/api/settings');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.server).toBeUndefined();
    expect(body.redis).toBeUndefined();
    expect(body.token.max_concurrency_per_account).toBe(4);
    expect(body.grok.cf_clearance).toBe('***');
    expect(body.app.api_key).toBe('***');
    expect(body.app.app_key).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain('secret-clearance');
  });

  it('validates, applies at once and persists a partial update', async () => {
    const res = await stack.admin('PUT', '/admin/api/settings', { token: { max_concurrency_per_account: 7, selection_strategy: 'round_robin' }, grok: { cf_clearance: '***' } });
    expect(res.status).toBe(200);
    expect((await res.json()).token.max_concurrency_per_account).toBe(7);
    const cfg = stack.runtime.services.config();
    expect(cfg.token).toMatchObject({ max_concurrency_per_account: 7, selection_strategy: 'round_robin', fail_threshold: 5 });
    expect(cfg.grok.cf_clearance).toBe('secret-clearance');
    const file = parse(readFileSync(join(stack.dataDir, 'config.toml'), 'utf8')) as any;
    expect(file.token).toEqual({ max_concurrency_per_account: 7, selection_strategy: 'round_robin' });
    expect(file.grok).toBeUndefined();
  });

  it('refuses start-up-only keys and invalid values, naming the key', async () => {
    let res = await stack.admin('PUT', '/admin/api/settings', { server: { port: 1 } });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatchObject({ code: 'setting_not_editable', param: 'server.port' });
    res = await stack.admin('PUT', '/admin/api/settings', { redis: { url: 'redis://x' } });
    expect((await res.json()).error.param).toBe('redis.url');
    res = await stack.admin('PUT', '/admin/api/settings', { token: { max_concurrency_per_account: 0 } });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe('token.max_concurrency_per_account');
    res = await stack.admin('PUT', '/admin/api/settings', { token: { no_such_key: 1 } });
    expect(res.status).toBe(400);
    expect(stack.runtime.services.config().token.max_concurrency_per_account).toBe(7);
  });
});
