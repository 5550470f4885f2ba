/**
 * A prompt of nothing but whitespace is refused like an empty one, on chat completions, the
 * Responses API and Anthropic Messages, without calling grok.com (issue 15, item 5).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
  await stack.importTokens(['blank-prompt-account']);
});
afterAll(() => stack.close());

const BLANKS = ['   ', '\n\t \r\n', '\u00a0\u2003'];

/** Request bodies with `text` as the whole prompt, in each shape each endpoint takes. */
const shapes: [string, (text: string) => unknown][] = [
  ['/v1/chat/completions', (t) => ({ model: 'grok-3', messages: [{ role: 'user', content: t }] })],
  ['/v1/chat/completions', (t) => ({ model: 'grok-3', stream: true, messages: [{ role: 'system', content: t }, { role: 'user', content: [{ type: 'text', text: t }] }] })],
  ['/v1/responses', (t) => ({ model: 'grok-3', input: t })],
  ['/v1/responses', (t) => ({ model: 'grok-3', stream: true, input: [{ role: 'user', content: [{ type: 'input_text', text: t }] }] })],
  ['/v1/messages', (t) => ({ model: 'grok-3', max_tokens: 50, messages: [{ role: 'user', content: t }] })],
  ['/v1/messages', (t) => ({ model: 'grok-3', max_tokens: 50, stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: t }] }] })],
];

async function post(path: string, body: unknown) {
  const res = await fetch(stack.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

describe('whitespace-only prompts', () => {
  it('get the same 400 as an empty prompt, and grok.com is never called', async () => {
    const before = stack.fake.requests.length;
    for (const [path, make] of shapes) {
      const empty = await post(path, make(''));
      expect(empty.status, `${path} with ""`).toBe(400);
      for (const blank of BLANKS) {
        const r = await post(path, make(blank));
        expect(r, `${path} with ${JSON.stringify(blank)}`).toEqual(empty);
      }
    }
    expect(stack.fake.requests.length - before).toBe(0);
  });

  it('still pass when another part of the prompt has text', async () => {
    const r = await post('/v1/chat/completions', { model: 'grok-3', messages: [{ role: 'user', content: [{ type: 'text', text: '  ' }, { type: 'text', text: 'Hi' }] }] });
    expect(r.status).toBe(200);
  });
});
