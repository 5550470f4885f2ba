import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';

const SECRET_TOKEN = 'sso-secret-value-that-must-never-be-logged-0123456789';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ overrides: { security: { max_body_mb: 10 } } });
  await stack.importTokens([SECRET_TOKEN]);
});
afterAll(() => stack.close());

async function send(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const json = await res.json();
  expectValid('ErrorResponse', json);
  return { status: res.status, error: json.error, headers: res.headers };
}

describe('bad input gets a clear OpenAI-shaped error', () => {
  it('malformed JSON → 400 invalid_json', async () => {
    const r = await send('{"model": "grok-4", "messages": [');
    expect(r.status).toBe(400);
    expect(r.error.type).toBe('invalid_request_error');
    expect(r.error.code).toBe('invalid_json');
  });

  it('missing messages → 400 missing_required_parameter naming the field', async () => {
    const r = await send(JSON.stringify({ model: 'grok-4' }));
    expect(r.status).toBe(400);
    expect(r.error.code).toBe('missing_required_parameter');
    expect(r.error.param).toBe('messages');
  });

  it('a wrong role → 400 invalid_value with the path', async () => {
    const r = await send(JSON.stringify({ model: 'grok-4', messages: [{ role: 'robot', content: 'x' }] }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('messages[0].role');
  });

  it('unknown model → 404 model_not_found', async () => {
    const r = await send(JSON.stringify({ model: 'gpt-99', messages: [{ role: 'user', content: 'x' }] }));
    expect(r.status).toBe(404);
    expect(r.error.code).toBe('model_not_found');
    expect(r.error.param).toBe('model');
  });

  it('wrong or missing API key → 401 invalid_api_key', async () => {
    const wrong = await send(JSON.stringify({ model: 'grok-4', messages: [] }), { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.error.code).toBe('invalid_api_key');
    const res = await fetch(`${stack.url}/v1/models`);
    expect(res.status).toBe(401);
    const viaXApiKey = await fetch(`${stack.url}/v1/models`, { headers: { 'x-api-key': API_KEY } });
    expect(viaXApiKey.status).toBe(200);
  });

  it('a 20 MB body → 413 payload_too_large', async () => {
    const big = JSON.stringify({ model: 'grok-4', messages: [{ role: 'user', content: 'x'.repeat(20 * 1024 * 1024) }] });
    const r = await send(big);
    expect(r.status).toBe(413);
    expect(r.error.code).toBe('payload_too_large');
  });

  it('10,000 messages → 400 invalid_value on messages', async () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `m${i}` }));
    const r = await send(JSON.stringify({ model: 'grok-4', messages }));
    expect(r.status).toBe(400);
    expect(r.error.param).toBe('messages');
  });

  it('unsupported features are refused, not silently ignored', async () => {
    const r = await send(JSON.stringify({ model: 'grok-4', tools: [{ type: 'code_interpreter' }], messages: [{ role: 'user', content: 'x' }] }));
    expect(r.status).toBe(400);
    expect(r.error.code).toBe('invalid_value');
    expect(r.error.param).toBe('tools[0].type');
  });

  it('unknown routes → 404 in the same envelope', async () => {
    const res = await fetch(`${stack.url}/v1/nothing-here`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(res.status).toBe(404);
    expectValid('ErrorResponse', await res.json());
  });

  it('stays up, and no token or key ever appears in a log line', async () => {
    const ok = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', cookie: `sso=${SECRET_TOKEN}` },
      body: JSON.stringify({ model: 'grok-4', messages: [{ role: 'user', content: 'still alive?' }] }),
    });
    expect(ok.status).toBe(200);
    stack.fake.setAccount(SECRET_TOKEN, { state: 'invalid' });
    await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4', messages: [{ role: 'user', content: 'now fail' }] }),
    });
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    expect(stack.logs.length).toBeGreaterThan(5);
    const all = stack.logs.join('\n');
    expect(all).not.toContain(SECRET_TOKEN);
    expect(all).not.toContain(SECRET_TOKEN.slice(10, 40));
    expect(all).not.toContain(API_KEY);
  });
});
