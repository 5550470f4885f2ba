import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, readSse, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';

describe.each(TRANSPORTS)('chat over %s', (transport) => {

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ overrides: transportOverrides(transport) });
  await stack.importTokens(['tok-basic-1', 'tok-basic-2']);
  await stack.importTokens(['tok-super-1'], { tier: 'super' });
  stack.fake.setAccount('tok-super-1', { tier: 'super' });
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(() => stack.close());

const post = (path: string, body: unknown, key = API_KEY) =>
  fetch(stack.url + path, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('chat completions with the openai SDK', () => {
  it('returns the fake answer, non-streamed, in a spec-valid body', async () => {
    const res = await post('/v1/chat/completions', { model: 'grok-4', messages: [{ role: 'user', content: 'hello there' }] });
    expect(res.status).toBe(200);
    const body = await res.json();
    expectValid('CreateChatCompletionResponse', body);
    expect(body.choices[0].message.content).toBe(stack.fake.defaultAnswer);
    expect(body.usage.completion_tokens).toBeGreaterThan(0);

    const viaSdk = await client.chat.completions.create({ model: 'grok-4', messages: [{ role: 'user', content: 'hi' }] });
    expect(viaSdk.choices[0]!.message.content).toBe(stack.fake.defaultAnswer);
    expect(viaSdk.choices[0]!.finish_reason).toBe('stop');
  });

  it('streams through chat.completions.stream() to the same final message', async () => {
    const stream = client.chat.completions.stream({ model: 'grok-4', messages: [{ role: 'user', content: 'stream please' }] });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe(stack.fake.defaultAnswer);
    expect(final.choices[0]!.finish_reason).toBe('stop');
  });

  it('sends reasoning as reasoning_content for thinking models', async () => {
    stack.fake.script('ponder-this', { kind: 'reasoning', thinking: ['Thinking about it', '- checking sources'], answer: 'Forty-two.' });
    const res = await post('/v1/chat/completions', { model: 'grok-4.1-thinking', messages: [{ role: 'user', content: 'ponder-this' }] });
    const body = await res.json();
    expectValid('CreateChatCompletionResponse', body);
    expect(body.choices[0].message.content).toBe('Forty-two.');
    expect(body.choices[0].message.reasoning_content).toContain('Thinking about it');
    expect(body.usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);

    const stream = client.chat.completions.stream({ model: 'grok-4.1-thinking', messages: [{ role: 'user', content: 'ponder-this' }] });
    let reasoning = '';
    stream.on('chunk', (c) => {
      reasoning += (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toBe('Forty-two.');
    expect(reasoning).toContain('Thinking about it');
  });

  it('emits only spec-valid SSE chunks, usage when asked, then [DONE]', async () => {
    const res = await post('/v1/chat/completions', {
      model: 'grok-4',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'sse check' }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(stack.fake.defaultAnswer);
    const usageChunk = chunks.at(-1);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.total_tokens).toBe(usageChunk.usage.prompt_tokens + usageChunk.usage.completion_tokens);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
  });

  it('flattens the conversation into the upstream message and sends browser-like headers', async () => {
    await post('/v1/chat/completions', {
      model: 'grok-4',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'flatten-marker' }] },
      ],
    });
    const sent = stack.fake.requests.filter(isChatTurn).at(-1)!;
    expect(sent.body.message).toBe('[system]: Be brief.\n\n[user]: first\n\n[assistant]: ok\n\n[user]: flatten-marker');
    // grok-4 → auto, falling back to fast: basic accounts only have fast.
    expect(sent.body.modeId).toBe(sent.token === 'tok-super-1' ? 'auto' : 'fast');
    expect(sent.cookies.sso).toMatch(/^tok-/);
    // The mgw upgrade carries no statsig and no request id (docs/upstream-grok.md §1.3).
    if (transport === 'rest') expect(sent.headers['x-statsig-id']).toBeTruthy();
    else expect(sent.headers['x-statsig-id']).toBeUndefined();
    expect(sent.headers['user-agent']).toContain('Mozilla/5.0');
    expect(sent.headers.authorization).toBeUndefined();
  });

  it('serves the catalogue as spec-valid model objects, also without the /v1 prefix', async () => {
    const list = await (await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } })).json();
    expectValid('ListModelsResponse', list);
    expect(list.data.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(['grok-3', 'grok-4', 'grok-4-heavy', 'grok-imagine-1.0']));
    const one = await (await fetch(`${stack.url}/models/grok-4.1-fast`, { headers: { authorization: `Bearer ${API_KEY}` } })).json();
    expectValid('Model', one);
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('grok-4');
    const alias = await post('/chat/completions', { model: 'grok-3', messages: [{ role: 'user', content: 'alias' }] });
    expect(alias.status).toBe(200);
  });

  it('routes models to accounts of the needed tier', async () => {
    stack.fake.script('heavy-question', { kind: 'plain', answer: 'heavy answer' });
    const res = await post('/v1/chat/completions', { model: 'grok-4-heavy', messages: [{ role: 'user', content: 'heavy-question' }] });
    expect(res.status).toBe(503);
    const body = await res.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe('no_accounts');
    expect(body.error.message).toContain('heavy');
  });
});
});
