import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';

describe.each(TRANSPORTS)('client disconnect over %s', (transport) => {
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ overrides: transportOverrides(transport) });
  await stack.importTokens(['slow-acct']);
});
afterAll(() => stack.close());

async function inFlight(): Promise<number> {
  const accounts = await stack.runtime.services.store.listAccounts();
  return accounts.reduce((n, a) => n + a.inFlight, 0);
}

/** Waits for a condition that the server settles asynchronously, failing after `ms`. */
async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('client disconnect', () => {
  for (const stream of [true, false]) {
    it(`closes the upstream within 200 ms and releases the account (stream: ${stream})`, async () => {
      const answer = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
      const marker = `slow-answer-${stream}`;
      stack.fake.script(marker, { kind: 'plain', answer, interTokenDelayMs: 50 });
      const controller = new AbortController();
      const res = fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        signal: controller.signal,
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'grok-4', stream, messages: [{ role: 'user', content: marker }] }),
      });
      const upstream = await stack.fake.waitFor((r) => isChatTurn(r) && r.body?.message?.includes(marker));
      if (stream) {
        const reader = (await res).body!.getReader();
        await reader.read(); // the role chunk: the stream is live
      } else {
        await new Promise((r) => setTimeout(r, 120)); // a few tokens into the upstream answer
      }
      expect(await inFlight()).toBe(1);
      const abortedAt = Date.now();
      controller.abort();
      await res.catch(() => undefined);
      const closed = await stack.fake.waitFor((r) => r.id === upstream.id && r.closedAt !== null, 2000);
      expect(closed.clientAborted).toBe(true);
      expect(closed.closedAt! - abortedAt).toBeLessThan(200);
      await eventually(async () => (await inFlight()) === 0);
      const [acct] = await stack.runtime.services.store.listAccounts();
      expect(acct!.status).toBe('active');
      expect(acct!.failCount).toBe(0);
    });
  }
});
});
