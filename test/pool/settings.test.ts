import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { isChatTurn } from '../helpers/transports.js';

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

  it('switches the chat transport and the browser identity for the next request', async () => {
    await stack.importTokens(['tok-settings-chat']);
    const chat = async () => {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'hello' }] }),
      });
      expect(res.status).toBe(200);
      return stack.fake.requests.filter(isChatTurn).at(-1)!;
    };
    for (const [transport, path] of [['rest', '/rest/app-chat/conversations/new'], ['ws', '/ws/mgw/']] as const) {
      const ua = `Mozilla/5.0 (X11; Linux x86_64) settings-test-${transport}`;
      const res = await stack.admin('PUT', '/admin/api/settings', { grok: { chat_transport: transport, user_agent: ua } });
      expect(res.status).toBe(200);
      const turn = await chat();
      expect(turn.path.endsWith(path)).toBe(true);
      expect(turn.headers['user-agent']).toBe(ua);
    }
  });
});
