import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { isChatTurn } from '../helpers/transports.js';

let stack: Stack;
let client: Anthropic;

beforeAll(async () => {
  stack = await startStack();
  await stack.importTokens(['tok-msg-basic']);
  await stack.importTokens(['tok-msg-super'], { tier: 'super' });
  stack.fake.setAccount('tok-msg-super', { tier: 'super' });
  client = new Anthropic({ baseURL: stack.url, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(() => stack.close());

const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': API_KEY }) =>
  fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers }, body: JSON.stringify(body) });
const lastPrompt = () => stack.fake.requests.filter(isChatTurn).at(-1)!.body.message as string;

/** Parses Anthropic SSE, checking that each `event:` line equals the payload's `type`. */
function parseEvents(raw: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const block of raw.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l && !l.startsWith(':'));
    if (!lines.length) continue;
    const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
    const data = JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6));
    expect(name).toBe(data.type);
    out.push(data);
  }
  return out;
}

const WEATHER = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('POST /v1/messages (Anthropic)', () => {
  it('answers messages.create in the Anthropic message shape', async () => {
    const msg = await client.messages.create({
      model: 'grok-4',
      max_tokens: 256,
      system: [{ type: 'text', text: 'Be brief.' }],
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'anthropic hello' }] },
      ],
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.content).toEqual([{ type: 'text', text: stack.fake.defaultAnswer }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.stop_sequence).toBeNull();
    expect(Number.isInteger(msg.usage.input_tokens) && msg.usage.output_tokens > 0).toBe(true);
    expect(lastPrompt()).toBe('[system]: Be brief.\n\n[user]: first\n\n[assistant]: ok\n\n[user]: anthropic hello');
  });

  it('streams the Anthropic event sequence, through the SDK and raw', async () => {
    const final = await client.messages.stream({ model: 'grok-4', max_tokens: 64, messages: [{ role: 'user', content: 'stream it' }] }).finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: stack.fake.defaultAnswer }]);
    expect(final.stop_reason).toBe('end_turn');

    const res = await post('/v1/messages', { model: 'grok-4', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'raw stream' }] });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await res.text());
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(types.slice(-4)).toEqual(['content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[0]!.message).toMatchObject({ content: [], stop_reason: null, usage: { output_tokens: 0 } });
    expect(events.at(-2)!.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
    expect(events.at(-2)!.usage.output_tokens).toBeGreaterThan(0);
    const text = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join('');
    expect(text).toBe(stack.fake.defaultAnswer);
  });

  it('shows thinking blocks only when thinking is enabled', async () => {
    stack.fake.script('msg-ponder', { kind: 'reasoning', thinking: ['Hmm', ' let me see'], answer: 'Seven.' });
    const req = { model: 'grok-4.1-thinking', max_tokens: 2048, messages: [{ role: 'user' as const, content: 'msg-ponder' }] };
    const stream = client.messages.stream({ ...req, thinking: { type: 'enabled', budget_tokens: 1024 } });
    let thinking = '';
    let signature = '';
    stream.on('thinking', (d) => (thinking += d));
    stream.on('signature', (s) => (signature = s));
    const final = await stream.finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(thinking).toContain('let me see');
    expect(signature).toBeTruthy();
    expect((final.content[1] as { text: string }).text).toBe('Seven.');

    const plain = await client.messages.create(req);
    expect(plain.content.map((b) => b.type)).toEqual(['text']);
  });

  it('emulates tools: tool_use blocks with input_json_delta and stop_reason tool_use, then a tool_result turn', async () => {
    stack.fake.script('weather in Paris?', {
      kind: 'plain',
      answer: 'Let me check.<tool_calls><tool_call><tool_name>get_weather</tool_name><parameters>{"city":"Paris"}</parameters></tool_call></tool_calls>',
    });
    const stream = client.messages.stream({ model: 'grok-4', max_tokens: 256, tools: [WEATHER], messages: [{ role: 'user', content: 'weather in Paris?' }] });
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    const use = final.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } });
    expect(partials.join('')).toBe('{"city":"Paris"}');
    expect(JSON.stringify(final.content)).not.toContain('<tool_call');

    stack.fake.script('Sunny, 21 C', { kind: 'plain', answer: 'It is sunny in Paris.' });
    const second = await client.messages.create({
      model: 'grok-4',
      max_tokens: 256,
      tools: [WEATHER],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: final.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: (use as { id: string }).id, content: 'Sunny, 21 C' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content).toEqual([{ type: 'text', text: 'It is sunny in Paris.' }]);
    const prompt = lastPrompt();
    expect(prompt).toContain('get_weather');
    expect(prompt).toContain('Sunny, 21 C');
  });

  it('uploads image blocks and reads text documents', async () => {
    const before = stack.fake.uploads.length;
    const msg = await client.messages.create({
      model: 'grok-4',
      max_tokens: 64,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc-body-text' } },
            { type: 'text', text: 'what is this?' },
          ],
        },
      ],
    });
    expect(msg.content[0]!.type).toBe('text');
    expect(stack.fake.uploads.length).toBe(before + 1);
    expect(stack.fake.uploads.at(-1)!.mime).toBe('image/png');
    expect(lastPrompt()).toContain('doc-body-text');
  });

  it('counts tokens with count_tokens', async () => {
    const small = await client.messages.countTokens({ model: 'grok-4', messages: [{ role: 'user', content: 'hi' }] });
    const big = await client.messages.countTokens({ model: 'grok-4', system: 'You are a careful assistant.', tools: [WEATHER], messages: [{ role: 'user', content: 'hi there, how is the weather?' }] });
    expect(Object.keys(small)).toEqual(['input_tokens']);
    expect(big.input_tokens).toBeGreaterThan(small.input_tokens);
  });

  it('accepts x-api-key and Bearer, and answers errors in the Anthropic shape', async () => {
    const body = { model: 'grok-4', max_tokens: 16, messages: [{ role: 'user' as const, content: 'auth check' }] };
    expect((await post('/v1/messages', body, { 'x-api-key': API_KEY })).status).toBe(200);
    expect((await post('/v1/messages', body, { authorization: `Bearer ${API_KEY}` })).status).toBe(200);

    const wrong = await post('/v1/messages', body, { 'x-api-key': 'sk-wrong' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    await expect(new Anthropic({ baseURL: stack.url, apiKey: 'sk-wrong', maxRetries: 0 }).messages.create(body as never)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);

    const cases: [unknown, number, string][] = [
      [{ model: 'grok-4', messages: body.messages }, 400, 'invalid_request_error'],
      [{ ...body, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'bm90IGFuIGltYWdl' } }] }] }, 400, 'invalid_request_error'],
      [{ ...body, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, 400, 'invalid_request_error'],
      [{ ...body, model: 'nope' }, 404, 'not_found_error'],
    ];
    for (const [b, status, type] of cases) {
      const res = await post('/v1/messages', b);
      expect(res.status).toBe(status);
      const err = await res.json();
      expect(err).toMatchObject({ type: 'error', error: { type } });
      expect(typeof err.error.message).toBe('string');
    }
    const notJson = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: '{oops' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).type).toBe('error');
    await expect(client.messages.create({ ...body, model: 'nope' })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});
