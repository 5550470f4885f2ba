/**
 * server.request_timeout_sec bounds the time to receive a request, so a body dribbled byte by
 * byte cannot hold a connection forever, while an answer may stream as long as it needs
 * (issue 15, item 7).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendChunked } from '../helpers/raw-request.js';
import { API_KEY, readSse, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ overrides: { server: { request_timeout_sec: 1 } } });
  await stack.importTokens(['timeout-account']);
});
afterAll(() => stack.close());

const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

function* dribble(text: string): Generator<Buffer> {
  for (const ch of text) yield Buffer.from(ch);
}

describe('request timeout', () => {
  it('answers 408 request_timeout to a body dribbled slower than request_timeout_sec, and closes the connection', async () => {
    const body = JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'slow loris' }] });
    const r = await sendChunked(`${stack.url}/v1/chat/completions`, auth, dribble(body), 100);
    expect(r.status).toBe(408);
    expect(JSON.parse(r.body).error.code).toBe('request_timeout');
    expect(r.headers.connection).toBe('close');
    // Due after 1 s; Node checks at most every 250 ms here.
    expect(r.ms).toBeGreaterThanOrEqual(950);
    expect(r.ms).toBeLessThan(2500);
    expect(r.sent).toBeLessThan(body.length);
  });

  it('does the same to request headers that never finish', async () => {
    const port = new URL(stack.url).port;
    const t0 = performance.now();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toContain('"request_timeout"');
    expect(performance.now() - t0).toBeLessThan(2500);
  });

  it('lets an answer stream for longer than request_timeout_sec', async () => {
    stack.fake.script('long stream', { kind: 'plain', answer: 'one two three four five six seven eight nine ten eleven twelve', interTokenDelayMs: 250 });
    const t0 = performance.now();
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'grok-3', stream: true, messages: [{ role: 'user', content: 'a long stream please' }] }),
    });
    expect(res.status).toBe(200);
    const { data } = await readSse(res);
    expect(performance.now() - t0).toBeGreaterThan(2000);
    expect(data.at(-1)).toBe('[DONE]');
    const text = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '').join('');
    expect(text).toContain('twelve');
  });
});
