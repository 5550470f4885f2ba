import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warmTokenizer } from '../../src/lib/tokenizer.js';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, readSse } from '../helpers/stack.js';
import { startUpstream, UPSTREAMS, type Upstream } from './upstreams.js';

/**
 * The chat parameters — stop, max_tokens, n, response_format — raw and through the openai SDK, on
 * every upstream. grok.com has none of them, so the server emulates them all; on the xAI API
 * max_tokens and response_format go as the API's own parameters (xAI cuts and reports the length
 * itself), while stop, n and the JSON check stay the server's: the client sees the same answers.
 */

const PERSON = { type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false };

describe.each(UPSTREAMS)('chat parameters on %s', (name) => {
  let up: Upstream;
  let client: OpenAI;
  let n = 0;
  const tag = () => `param-${name}-${++n}`;
  const post = (body: Record<string, unknown>) =>
    fetch(`${up.stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: up.model, ...body }) });
  const ask = (t: string, extra: Record<string, unknown> = {}) => ({ messages: [{ role: 'user', content: `question ${t}` }], ...extra });
  async function complete(body: Record<string, unknown>) {
    const res = await post(body);
    const json = await res.json();
    expectValid(res.status === 200 ? 'CreateChatCompletionResponse' : 'ErrorResponse', json);
    return { status: res.status, json };
  }
  async function streamed(body: Record<string, unknown>) {
    const res = await post({ ...body, stream: true });
    expect(res.status).toBe(200);
    const { data } = await readSse(res);
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    const text = (i = 0) => chunks.map((c) => c.choices.find((x: { index: number }) => x.index === i)?.delta?.content ?? '').join('');
    const finish = (i = 0) => chunks.map((c) => c.choices.find((x: { index: number }) => x.index === i)?.finish_reason).find(Boolean);
    return { chunks, text, finish };
  }

  beforeAll(async () => {
    // The server warms the BPE table at start-up (server.ts); the test stack does it here so that
    // max_tokens cuts on real token boundaries rather than the chars/4 fallback.
    await warmTokenizer();
    up = await startUpstream(name, 'tok-params', 3);
    client = new OpenAI({ baseURL: `${up.stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
  });
  afterAll(() => up.close());

  it('stop: cut before the sequence, finish_reason stop, and the upstream is closed early', async () => {
    const t = tag();
    up.plain(t, { answer: `alpha beta END gamma ${'x '.repeat(300)}`, chunkSize: 3, interTokenDelayMs: 2 });
    const { json } = await complete(ask(t, { stop: ['END', 'never'] }));
    expect(json.choices[0].message.content).toBe('alpha beta ');
    expect(json.choices[0].finish_reason).toBe('stop');
    expect((await up.closedTurn(t)).clientAborted).toBe(true);
    // The server cuts on both upstreams: the xAI request carries no stop of its own.
    if (up.kind === 'xai') expect(up.turns(t)[0]!.body.stop).toBeUndefined();
    const s = await streamed(ask(t, { stop: 'END' }));
    expect(s.text()).toBe('alpha beta ');
    expect(s.finish()).toBe('stop');
  });

  it('max_tokens / max_completion_tokens: cut, finish_reason length', async () => {
    const t = tag();
    up.plain(t, { answer: 'one two three four five six seven eight nine ten eleven twelve', chunkSize: 4 });
    for (const limit of [{ max_tokens: 4 }, { max_completion_tokens: 4 }]) {
      const { json } = await complete(ask(t, limit));
      expect(json.choices[0].finish_reason).toBe('length');
      expect(json.choices[0].message.content).toBe('one two three four');
      if (up.kind === 'grok') {
        // Emulated: cut on the tokenizer's boundaries, the usage estimated.
        expect(json.usage.completion_tokens).toBeLessThanOrEqual(4);
      } else {
        // Native: the limit goes to xAI as max_tokens (either spelling) and xAI's count is reported.
        expect(up.turns(t).at(-1)!.body.max_tokens).toBe(4);
        expect(json.usage.completion_tokens).toBe(4);
      }
    }
    const s = await streamed(ask(t, { max_tokens: 4 }));
    expect(s.text()).toBe('one two three four');
    expect(s.finish()).toBe('length');
  });

  it('n > 1: independent generations, choices[i].index = i, streamed chunks carry their index', async () => {
    const t = tag();
    up.plain(t, { answer: 'same answer', chunkSize: 3 });
    const before = up.turns(t).length;
    const { json } = await complete(ask(t, { n: 3 }));
    expect(json.choices.map((c: { index: number }) => c.index)).toEqual([0, 1, 2]);
    for (const c of json.choices) expect(c.message.content).toBe('same answer');
    // n is the server's on both upstreams: one upstream turn per choice.
    expect(up.turns(t).length - before).toBe(3);
    const s = await streamed(ask(t, { n: 2, stream_options: { include_usage: true } }));
    for (const i of [0, 1]) {
      expect(s.text(i)).toBe('same answer');
      expect(s.finish(i)).toBe('stop');
      expect(s.chunks.find((c) => c.choices[0]?.index === i).choices[0].delta.role).toBe('assistant');
    }
    expect(s.chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
    const sdk = await client.chat.completions.create({ model: up.model, n: 2, ...(ask(t) as { messages: OpenAI.ChatCompletionMessageParam[] }) });
    expect(sdk.choices).toHaveLength(2);
  });

  it('json_object: the JSON is extracted from fences and prose', async () => {
    const t = tag();
    up.plain(t, { answer: 'Sure!\n```json\n{"ok": true}\n```' });
    const { json } = await complete(ask(t, { response_format: { type: 'json_object' } }));
    expect(json.choices[0].message.content).toBe('{"ok": true}');
    expect(json.choices[0].finish_reason).toBe('stop');
    const sent = up.turns(t).at(-1)!;
    if (up.kind === 'grok') {
      // grok.com has no JSON mode: the instruction went upstream, after the conversation.
      expect(sent.text).toMatch(/\[system\]: Respond with a single valid JSON value and nothing else[^\n]*JSON object\.$/);
    } else {
      // xAI's own JSON mode, and no instruction folded into the conversation.
      expect(sent.body.response_format).toEqual({ type: 'json_object' });
      expect(sent.text).not.toContain('Respond with a single valid JSON value');
    }
  });

  it('json_schema strict: a bad first answer is retried once on another generation', async () => {
    const t = tag();
    let seen = 0;
    up.plain(t, { answer: '{"name": "Ada", "age": 36}' });
    up.plain((p) => p.includes(t) && seen++ === 0, { answer: '{"name": "Ada"}' });
    const rf = { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } };
    const { json } = await complete(ask(t, { response_format: rf }));
    expect(JSON.parse(json.choices[0].message.content)).toEqual({ name: 'Ada', age: 36 });
    expect(seen).toBeGreaterThanOrEqual(2);
  });

  it('json_schema strict: still invalid after the retry → 502 invalid_json_output, streamed or not; never finish stop', async () => {
    const t = tag();
    up.plain(t, { answer: 'I would rather not answer in JSON.' });
    const rf = { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } };
    const r = await complete(ask(t, { response_format: rf }));
    expect(r.status).toBe(502);
    expect(r.json.error).toMatchObject({ code: 'invalid_json_output', type: 'upstream_error', param: 'response_format' });
    const res = await post({ ...ask(t, { response_format: rf }), stream: true });
    expect(res.status).toBe(502);
    expectValid('ErrorResponse', await res.json());
    await expect(client.chat.completions.create({ model: up.model, ...(ask(t) as { messages: OpenAI.ChatCompletionMessageParam[] }), response_format: rf as OpenAI.ResponseFormatJSONSchema })).rejects.toMatchObject({ status: 502, code: 'invalid_json_output' });
  });

  it('json_schema in a stream: checked first, then replayed as valid chunks', async () => {
    const t = tag();
    up.plain(t, { answer: '```\n{"name": "Lin", "age": 7}\n```', chunkSize: 3 });
    const rf = { type: 'json_schema', json_schema: { name: 'person', schema: PERSON, strict: true } };
    const s = await streamed(ask(t, { response_format: rf, stream_options: { include_usage: true } }));
    expect(JSON.parse(s.text())).toEqual({ name: 'Lin', age: 7 });
    expect(s.finish()).toBe('stop');
    const final = await client.chat.completions.stream({ model: up.model, ...(ask(t) as { messages: OpenAI.ChatCompletionMessageParam[] }), response_format: rf as OpenAI.ResponseFormatJSONSchema }).finalChatCompletion();
    expect(JSON.parse(final.choices[0]!.message.content!)).toEqual({ name: 'Lin', age: 7 });
  });

  it('bad emulated parameters are 400s naming the parameter', async () => {
    const t = tag();
    const cases: [Record<string, unknown>, string][] = [
      [{ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'nope' } } } }, 'response_format.json_schema.schema'],
      [{ tools: [{ type: 'function', function: { name: 'bad name!' } }] }, 'tools[0].function.name'],
      [{ tool_choice: 'required' }, 'tool_choice'],
      [{ max_tokens: 0 }, 'max_tokens'],
      [{ n: 11 }, 'n'],
    ];
    for (const [extra, param] of cases) {
      const r = await complete(ask(t, extra));
      expect(r.status, param).toBe(400);
      expect(r.json.error.param).toBe(param);
    }
  });
});
