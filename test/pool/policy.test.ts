import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
  // A catalogue entry added at runtime through the settings API (merged by id into the defaults).
  const res = await stack.admin('PUT', '/admin/api/settings', { models: [{ id: 'grok-vip', modes: ['fast'], tags: ['vip'] }] });
  if (res.status !== 200) throw new Error(await res.text());
});
afterAll(() => stack.close());

const chat = (model: string, prompt: string) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-test-client-key', 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] }),
  });

describe('pool policy', () => {
  it('serves a model with tags only from accounts carrying one of them', async () => {
    const [plain, vip] = await stack.importTokens(['pol-plain', 'pol-vip']);
    await stack.admin('PATCH', `/admin/api/tokens/${vip}`, { tags: ['vip'] });
    for (let i = 0; i < 3; i++) expect((await chat('grok-vip', `pol-vip ${i}`)).status).toBe(200);
    const used = new Set(stack.fake.requests.filter((r) => r.token?.startsWith('pol-') && !r.path.includes('rate-limits')).map((r) => r.token));
    expect([...used]).toEqual(['pol-vip']);
    await stack.admin('PATCH', `/admin/api/tokens/${vip}`, { status: 'disabled' });
    const res = await chat('grok-vip', 'pol-vip none');
    expect(res.status).toBe(503);
    expect((await res.json()).error.code).toBe('no_accounts');
    expect((await chat('grok-3', 'pol-plain')).status).toBe(200);
    expect(plain).toBeTruthy();
  });

  it('the scheduler re-syncs an account once a known window should have refilled', async () => {
    const own = await startStack({ fake: stack.fake, overrides: { token: { auto_refresh: true } } });
    try {
      const [id] = await own.importTokens(['pol-reset']);
      const sync = own.runtime.services.quotaSync;
      expect((await sync.tick()).map((r) => r.id)).toContain(id);
      expect((await sync.tick()).map((r) => r.id)).not.toContain(id);
      // The window spent and due to refill a moment ago: the next round confirms it with grok.com.
      await new Promise((r) => setTimeout(r, 5)); // a reset time strictly after the last sync
      await own.runtime.services.store.setQuotas(id!, { fast: { remaining: 0, total: 30, windowSeconds: 86400, resetAt: Date.now() - 1 } });
      const round = await sync.tick();
      expect(round.find((r) => r.id === id)).toMatchObject({ ok: true, quotas: { fast: { remaining: 30, total: 30 } } });
    } finally {
      await own.close();
    }
  });
});
