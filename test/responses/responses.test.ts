import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { isChatTurn } from '../helpers/transports.js';
import { expectValidEvent, expectValidResponse, parseEvents } from './validate.js';

let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack();
  await stack.importTokens(['tok-resp-basic']);
  await stack.importTokens(['tok-resp-super'], { tier: 'super' });
  stack.fake.setAccount('tok-resp-super', { tier: 'super' });
  client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
});
afterAll(() => stack.close());

const call = (method: string, path: string, body?: unknown) =>
  fetch(stack.url + path, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const lastPrompt = () => stack.fake.requests.filter(isChatTurn).at(-1)!.body.message as string;

/** Checks the stream invariants (docs/api-contract.md §12.4) and returns the events. */
function checkStream(events: Record<string, unknown>[]): void {
  events.forEach((e, i) => {
    expectValidEvent(e);
    expect(e.sequence_number).toBe(i);
  });
  expect(events[0]!.type).toBe('response.created');
  expect(events[1]!.type).toBe('response.in_progress');
  const added = new Set<number>();
  for (const e of events) {
    if (e.type === 'response.output_item.added') added.add(e.output_index as number);
    else if ('output_index' in e) expect(added.has(e.output_index as number)).toBe(true);
  }
}

describe('POST /v1/responses', () => {
  it('answers a string input with a spec-valid Response, also through the SDK', async () => {
    const res = await call('POST', '/v1/responses', { model: 'grok-4', input: 'hello responses', instructions: 'Be brief.' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expectValidResponse(body);
    expect(body.id).toMatch(/^resp_/);
    expect(body.status).toBe('completed');
    expect(body.output).toHaveLength(1);
    expect(body.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(body.output[0].id).toMatch(/^msg_/);
    expect(body.output_text).toBe(stack.fake.defaultAnswer);
    expect(body.usage.input_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 0 });
    expect(body.usage.total_tokens).toBe(body.usage.input_tokens + body.usage.output_tokens);
    expect(lastPrompt()).toBe('[system]: Be brief.\n\n[user]: hello responses');

    const viaSdk = await client.responses.create({
      model: 'grok-4',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'sdk item input' }] }],
    });
    expect(viaSdk.output_text).toBe(stack.fake.defaultAnswer);
  });

  it('streams the full event sequence with sequence numbers and event lines', async () => {
    const res = await call('POST', '/v1/responses', { model: 'grok-4', input: 'stream me', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await res.text());
    checkStream(events);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...events.filter((e) => e.type === 'response.output_text.delta').map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta');
    const itemId = (events[2]!.item as { id: string }).id;
    for (const d of deltas) expect(d.item_id).toBe(itemId);
    const completed = events.at(-1)!.response as { output_text: string; id: string };
    expect(deltas.map((d) => d.delta).join('')).toBe(completed.output_text);
    expect(completed.output_text).toBe(stack.fake.defaultAnswer);
    expect((events[0]!.response as { id: string }).id).toBe(completed.id);
  });

  it('works with responses.stream().finalResponse()', async () => {
    const final = await client.responses.stream({ model: 'grok-4', input: 'sdk stream' }).finalResponse();
    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(stack.fake.defaultAnswer);
  });

  it('puts reasoning in a reasoning item at output_index 0 for thinking models', async () => {
    stack.fake.script('resp-ponder', { kind: 'reasoning', thinking: ['Weighing it', ' carefully'], answer: 'Forty-two.' });
    const body = await (await call('POST', '/v1/responses', { model: 'grok-4.1-thinking', input: 'resp-ponder' })).json();
    expectValidResponse(body);
    expect(body.output.map((o: { type: string }) => o.type)).toEqual(['reasoning', 'message']);
    expect(body.output[0].summary[0].text).toContain('Weighing it');
    expect(body.output_text).toBe('Forty-two.');
    expect(body.usage.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);

    const res = await call('POST', '/v1/responses', { model: 'grok-4.1-thinking', input: 'resp-ponder', stream: true });
    const events = parseEvents(await res.text());
    checkStream(events);
    const types = events.map((e) => e.type);
    expect(types.slice(2, 5)).toEqual(['response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta']);
    expect(types.indexOf('response.reasoning_summary_part.done')).toBeLessThan(types.indexOf('response.content_part.added'));
    expect(events.find((e) => e.type === 'response.content_part.added')!.output_index).toBe(1);

    const off = await (await call('POST', '/v1/responses', { model: 'grok-4.1-thinking', input: 'resp-ponder', reasoning: { effort: 'none' } })).json();
    expect(off.output.map((o: { type: string }) => o.type)).toEqual(['message']);
  });

  it('continues a stored conversation with previous_response_id', async () => {
    stack.fake.script('my name is Zed', { kind: 'plain', answer: 'Nice to meet you, Zed.' });
    stack.fake.script((p) => p.includes('my name is Zed') && p.includes('what is my name'), { kind: 'plain', answer: 'Your name is Zed.' });
    const first = await client.responses.create({ model: 'grok-4', input: 'Hi, my name is Zed.', instructions: 'Be terse.' });
    expect(first.output_text).toBe('Nice to meet you, Zed.');
    const second = await client.responses.create({ model: 'grok-4', previous_response_id: first.id, input: 'what is my name?' });
    expect(lastPrompt()).toBe('[user]: Hi, my name is Zed.\n\n[assistant]: Nice to meet you, Zed.\n\n[user]: what is my name?');
    expect(second.output_text).toBe('Your name is Zed.');
    expect(second.previous_response_id).toBe(first.id);
    // A third turn sees the whole chain.
    await client.responses.create({ model: 'grok-4', previous_response_id: second.id, input: 'thanks' });
    expect(lastPrompt()).toContain('[assistant]: Your name is Zed.\n\n[user]: thanks');
  });

  it('serves, deletes and forgets stored responses (also without the /v1 prefix)', async () => {
    const created = await (await call('POST', '/responses', { model: 'grok-4', input: 'keep me' })).json();
    const got = await call('GET', `/v1/responses/${created.id}`);
    expect(got.status).toBe(200);
    const body = await got.json();
    expectValidResponse(body);
    expect(body).toEqual(created);
    const del = await call('DELETE', `/responses/${created.id}`);
    expect(await del.json()).toEqual({ id: created.id, object: 'response', deleted: true });
    const gone = await call('GET', `/v1/responses/${created.id}`);
    expect(gone.status).toBe(404);
    expectValid('ErrorResponse', await gone.json());
    expect((await call('DELETE', `/v1/responses/${created.id}`)).status).toBe(404);

    const unstored = await (await call('POST', '/v1/responses', { model: 'grok-4', input: 'forget me', store: false })).json();
    expect(unstored.store).toBe(false);
    expect((await call('GET', `/v1/responses/${unstored.id}`)).status).toBe(404);
    const cont = await call('POST', '/v1/responses', { model: 'grok-4', input: 'x', previous_response_id: unstored.id });
    expect(cont.status).toBe(404);
    expect((await cont.json()).error.param).toBe('previous_response_id');
  });

  it('emulates function tools: function_call items and events, then a function_call_output turn', async () => {
    const tools = [{ type: 'function' as const, name: 'get_weather', description: 'Weather for a city', strict: true, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];
    stack.fake.script('resp weather Oslo', {
      kind: 'plain',
      answer: '<tool_calls><tool_call><tool_name>get_weather</tool_name><parameters>{"city":"Oslo"}</parameters></tool_call></tool_calls>',
    });
    const res = await call('POST', '/v1/responses', { model: 'grok-4', input: 'resp weather Oslo', tools, stream: true });
    const events = parseEvents(await res.text());
    checkStream(events);
    const types = events.map((e) => e.type);
    expect(types.slice(2)).toEqual([
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = events.find((e) => e.type === 'response.function_call_arguments.done')!;
    expect(done).toMatchObject({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
    const first = events.at(-1)!.response as { id: string; output: { type: string; call_id: string; name: string }[] };
    expect(first.output).toHaveLength(1);
    expect(first.output[0]).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });

    stack.fake.script('Cloudy, 4 C', { kind: 'plain', answer: 'Oslo is cloudy at 4 C.' });
    const second = await client.responses.create({
      model: 'grok-4',
      previous_response_id: first.id,
      tools,
      input: [{ type: 'function_call_output', call_id: first.output[0]!.call_id, output: 'Cloudy, 4 C' }],
    });
    expect(second.output_text).toBe('Oslo is cloudy at 4 C.');
    const prompt = lastPrompt();
    expect(prompt).toContain('resp weather Oslo');
    expect(prompt).toContain('<tool_name>get_weather</tool_name>');
    expect(prompt).toContain(`[tool result for ${first.output[0]!.call_id}`);
    expect(prompt).toContain('Cloudy, 4 C');
  });

  it('ends with response.incomplete when max_output_tokens cuts the answer', async () => {
    stack.fake.script('long-resp', { kind: 'plain', answer: 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen' });
    const body = await (await call('POST', '/v1/responses', { model: 'grok-4', input: 'long-resp', max_output_tokens: 3 })).json();
    expectValidResponse(body);
    expect(body.status).toBe('incomplete');
    expect(body.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(body.usage.output_tokens).toBeLessThanOrEqual(3);
    const events = parseEvents(await (await call('POST', '/v1/responses', { model: 'grok-4', input: 'long-resp', max_output_tokens: 3, stream: true })).text());
    checkStream(events);
    expect(events.at(-1)!.type).toBe('response.incomplete');
  });

  it('ends a stream that fails mid-turn with response.failed', async () => {
    stack.fake.script('resp-breaks', { kind: 'error-in-stream', variant: 'stream-errors', afterTokens: 2 });
    const res = await call('POST', '/v1/responses', { model: 'grok-4', input: 'resp-breaks', stream: true });
    expect(res.status).toBe(200);
    const events = parseEvents(await res.text());
    checkStream(events);
    const last = events.at(-1)!;
    expect(last.type).toBe('response.failed');
    expect((last.response as { status: string; error: { code: string } }).error.code).toBe('server_error');
  });

  it('uploads input_image parts as attachments', async () => {
    const before = stack.fake.uploads.length;
    const body = await (
      await call('POST', '/v1/responses', {
        model: 'grok-4',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'describe resp-image' }, { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC' }] }],
      })
    ).json();
    expectValidResponse(body);
    expect(stack.fake.uploads.length).toBe(before + 1);
    expect(stack.fake.uploads.at(-1)!.mime).toBe('image/png');
    expect(lastPrompt()).toContain('describe resp-image');
  });

  it('rejects bad input with OpenAI-shaped 400s', async () => {
    const cases: [unknown, string][] = [
      [{ model: 'grok-4' }, 'input'],
      [{ model: 'grok-4', input: 'x', text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
      [{ model: 'grok-4', input: 'x', text: { format: { type: 'json_schema', name: 'x', schema: { type: 'nope' } } } }, 'text.format.schema'],
      [{ model: 'grok-4', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id'],
      [{ model: 'grok-4', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,bm90IGFuIGltYWdl' }] }] }, 'input[0].content[0].image_url'],
      [{ model: 'grok-4', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] }, 'input[0].content[0].file_id'],
      [{ model: 'grok-4', input: 'x', tools: [{ type: 'file_search' }] }, 'tools[0].type'],
    ];
    for (const [body, param] of cases) {
      const res = await call('POST', '/v1/responses', body);
      expect(res.status).toBe(400);
      const err = await res.json();
      expectValid('ErrorResponse', err);
      expect(err.error.param).toBe(param);
    }
    const unknownModel = await call('POST', '/v1/responses', { model: 'nope', input: 'x' });
    expect(unknownModel.status).toBe(404);
  });

  describe('text.format json output', () => {
    const PERSON = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };
    const format = { type: 'json_schema', name: 'person', schema: PERSON, strict: true };

    it('extracts the JSON from a fenced answer, and retries once when the first answer misses the schema', async () => {
      const t = 'resp-json-retry';
      let seen = 0;
      stack.fake.script(t, { kind: 'plain', answer: 'Here:\n```json\n{"name": "Ada", "age": 36}\n```' });
      stack.fake.script((p) => p.includes(t) && seen++ === 0, { kind: 'plain', answer: '{"name": "Ada"}' });
      const before = stack.fake.requests.filter(isChatTurn).length;
      const body = await (await call('POST', '/v1/responses', { model: 'grok-4', input: t, text: { format } })).json();
      expectValidResponse(body);
      expect(body.status).toBe('completed');
      expect(JSON.parse(body.output_text ?? body.output.at(-1).content[0].text)).toEqual({ name: 'Ada', age: 36 });
      expect(body.text.format).toMatchObject({ type: 'json_schema', name: 'person' });
      expect(stack.fake.requests.filter(isChatTurn).length - before).toBe(2);
      expect(lastPrompt()).toContain('"person"');
    });

    it('strict schema still missed after the retry: 502 invalid_json_output naming text.format, streamed or not', async () => {
      const t = 'resp-json-never';
      stack.fake.script(t, { kind: 'plain', answer: 'I prefer prose.' });
      for (const stream of [false, true]) {
        const res = await call('POST', '/v1/responses', { model: 'grok-4', input: t, stream, text: { format } });
        expect(res.status).toBe(502);
        const err = await res.json();
        expectValid('ErrorResponse', err);
        expect(err.error).toMatchObject({ code: 'invalid_json_output', param: 'text.format' });
      }
    });

    it('in a stream: checked first, then replayed as spec-valid events whose text is the JSON', async () => {
      const t = 'resp-json-stream';
      stack.fake.script(t, { kind: 'plain', answer: '```\n{"name": "Lin", "age": 7}\n```', chunkSize: 3 });
      const res = await call('POST', '/v1/responses', { model: 'grok-4', input: t, stream: true, text: { format: { type: 'json_object' } } });
      expect(res.status).toBe(200);
      const events = parseEvents(await res.text());
      checkStream(events);
      const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
      expect(JSON.parse(deltas)).toEqual({ name: 'Lin', age: 7 });
      expect(events.at(-1)!.type).toBe('response.completed');
    });
  });
});
