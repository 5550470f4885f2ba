/**
 * grok.com sends the first tokens of an answer, then goes silent with the connection open. The
 * client of a stream gets what arrived, then an in-band error naming timeout.idle_sec and
 * [DONE]; the account stays usable (a silence says nothing about its credentials). first_byte_sec
 * is set far beyond the test's own timeout, so a stall cut by the first-byte limit never finishes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, transportOverrides } from '../helpers/transports.js';

let stack: Stack;
afterEach(() => stack?.close());

describe.each(TRANSPORTS)('a stall after the first token over %s', (transport) => {
  it('ends the stream with an in-band upstream_timeout naming idle_sec, and leaves the account active', async () => {
    stack = await startStack({ overrides: { ...transportOverrides(transport), timeout: { first_byte_sec: 120, idle_sec: 0.3 } } });
    const [id] = await stack.importTokens(['stall-account']);
    stack.fake.setAccount('stall-account', { state: 'stall', dropAfterFrames: 3 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4', stream: true, messages: [{ role: 'user', content: 'then silence' }] }),
    });
    expect(res.status).toBe(200);
    const data = (await res.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    expect(data.at(-1)).toBe('[DONE]');
    const content = data.slice(0, -2).map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? '').join('');
    expect(content.length).toBeGreaterThan(0);
    const err = JSON.parse(data.at(-2)!);
    expectValid('ErrorResponse', err);
    expect(err.error.code).toBe('upstream_timeout');
    expect(err.error.message).toContain('timeout.idle_sec');

    const { tokens } = await (await stack.admin('GET', '/admin/api/tokens')).json();
    const account = tokens.find((t: { id: string }) => t.id === id);
    expect(account.status).toBe('active');
    expect(account.in_flight).toBe(0);
  });
});
