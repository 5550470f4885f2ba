import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, stepCountIs, streamText, tool, type LanguageModel } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { conversationText, type ChatBody } from '../fake-xai/server.js';
import { API_KEY, readSse } from '../helpers/stack.js';
import { startUpstream, UPSTREAMS, type Upstream } from './upstreams.js';
import { validatingFetch } from './validating-fetch.js';

/**
 * Client tools driven by the real clients on every upstream. grok.com has no tools: the server
 * emulates them (a prompt, and markup parsed out of the answer), so the fake grok.com is scripted
 * to answer with that markup, then — once the prompt carries the tool result — with the final
 * answer. The xAI API calls tools natively: the fake xAI answers with `tool_calls`, then — once
 * the conversation carries the `tool` message — with the final answer. The clients must see the
 * same thing either way; every body/event they receive is checked against the OpenAI spec
 * (validating-fetch.ts).
 */

const WEATHER_PARAMS = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false };
const CALL = (city: string) =>
  `<tool_calls>\n  <tool_call>\n    <tool_name>get_weather</tool_name>\n    <parameters>{"city": "${city}"}</parameters>\n  </tool_call>\n</tool_calls>`;
const RESULT = '18C and sunny';
const FINAL = 'It is 18C and sunny in Paris.';

const hasToolResult = (b: ChatBody) => (b.messages ?? []).some((m) => m.role === 'tool');

describe.each(UPSTREAMS)('client tool calling on %s', (name) => {
  let up: Upstream;
  const v = validatingFetch();
  let tagN = 0;

  /** Scripts a two-step loop for conversations containing a fresh tag; returns the tag. */
  function scriptLoop(prefix = 'Let me look that up.\n'): string {
    const tag = `case-${name}-${++tagN}`;
    if (up.kind === 'grok') {
      up.stack.fake.script((p) => p.includes(tag) && !p.includes('[tool result'), { kind: 'plain', answer: `${prefix}${CALL('Paris')}`, chunkSize: 7 });
      up.stack.fake.script((p) => p.includes(tag) && p.includes('[tool result') && p.includes(RESULT), { kind: 'plain', answer: FINAL, chunkSize: 5 });
    } else {
      up.xai!.script((b) => conversationText(b).includes(tag) && !hasToolResult(b), { content: prefix, calls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }], chunkSize: 7 });
      up.xai!.script((b) => conversationText(b).includes(tag) && hasToolResult(b) && conversationText(b).includes(RESULT), { content: FINAL, chunkSize: 5 });
    }
    return tag;
  }
  /** The loop's history went back upstream faithfully: as the emulation's prompt, or as xAI's own messages. */
  function expectFaithfulHistory(tag: string) {
    const last = up.turns(tag).at(-1)!;
    if (up.kind === 'grok') {
      const p = last.text;
      expect(p).toMatch(/^\[system\]: You have access to the following tools\./);
      expect(p).toContain('<tool_name>get_weather</tool_name>\n    <parameters>{"city":"Paris"}</parameters>');
      expect(p).toMatch(/\[tool result for call_[0-9a-f]+ \(get_weather\)\]:\n18C and sunny/);
      return;
    }
    type Sent = { role: string; content?: unknown; tool_calls?: { id: string; function: { name: string; arguments: string } }[]; tool_call_id?: string };
    const body = last.body as unknown as { tools: unknown[]; messages: Sent[] };
    expect(body.tools).toEqual([expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'get_weather' }) })]);
    expect(last.text).not.toContain('You have access to the following tools');
    const call = body.messages.find((m) => m.role === 'assistant' && m.tool_calls?.length)!.tool_calls![0]!;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    // The provider's call id went back with the result.
    expect(body.messages.find((m) => m.role === 'tool')).toMatchObject({ tool_call_id: call.id, content: RESULT });
  }

  beforeAll(async () => {
    up = await startUpstream(name, 'tok-tools', 2);
  });
  afterAll(async () => {
    expect(v.problems).toEqual([]);
    expect(v.checked()).toBeGreaterThan(20);
    await up.close();
  });

  const openai = () => new OpenAI({ baseURL: `${up.stack.url}/v1`, apiKey: API_KEY, maxRetries: 0, fetch: v.fetch });
  const weatherTool = {
    type: 'function' as const,
    function: { name: 'get_weather', description: 'Weather by city', parameters: WEATHER_PARAMS, function: (a: { city: string }) => (a.city === 'Paris' ? RESULT : 'unknown'), parse: JSON.parse },
  };

  it('openai runTools: calls the tool, sends its result back, finishes with the answer (non-stream and stream)', async () => {
    for (const stream of [false, true]) {
      const tag = scriptLoop();
      const messages = [{ role: 'user' as const, content: `What is the weather in Paris? ${tag}` }];
      const runner = stream
        ? openai().chat.completions.runTools({ model: up.model, messages, tools: [weatherTool], stream: true })
        : openai().chat.completions.runTools({ model: up.model, messages, tools: [weatherTool] });
      expect(await runner.finalContent()).toBe(FINAL);
      const calls = (await runner.allChatCompletions()).flatMap((c) => c.choices[0]!.message.tool_calls ?? []);
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
      expect(calls[0]!.id).toMatch(/^call_/);
      expectFaithfulHistory(tag);
    }
  });

  it('chat.completions.stream() with tools: text before the call streams, the markup never leaks', async () => {
    const tag = scriptLoop('Checking the forecast. ');
    const s = openai().chat.completions.stream({ model: up.model, messages: [{ role: 'user', content: `Weather? ${tag}` }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMS } }] });
    let streamed = '';
    s.on('content', (d) => (streamed += d));
    const final = await s.finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(streamed).toBe('Checking the forecast. ');
    expect(streamed).not.toContain('<');
    expect(choice.message.tool_calls![0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
  });

  it('raw stream: one spec-valid delta per call (index, id, type, function), finish tool_calls; non-stream content null', async () => {
    const tag = `case-${name}-raw`;
    if (up.kind === 'grok') {
      const two = `<tool_calls><tool_call><tool_name>get_weather</tool_name><parameters>{"city":"Paris"}</parameters></tool_call><tool_call><tool_name>get_weather</tool_name><parameters>{"city":"Oslo"}</parameters></tool_call></tool_calls>`;
      up.stack.fake.script(tag, { kind: 'plain', answer: two, chunkSize: 4 });
    } else {
      // OpenAI-style fragments (id and name first, the arguments in pieces): the server adds them up.
      up.xai!.script(tag, { calls: [{ id: 'call_xai_paris', name: 'get_weather', arguments: '{"city":"Paris"}' }, { id: 'call_xai_oslo', name: 'get_weather', arguments: '{"city":"Oslo"}' }], callStyle: 'fragments' });
    }
    const body = { model: up.model, messages: [{ role: 'user', content: `Two cities ${tag}` }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: WEATHER_PARAMS } }], tool_choice: 'required' };
    const post = (b: unknown) => fetch(`${up.stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(b) });
    const { data } = await readSse(await post({ ...body, stream: true, stream_options: { include_usage: true } }));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    const callDeltas = chunks.filter((c) => c.choices[0]?.delta?.tool_calls);
    expect(callDeltas).toHaveLength(2);
    expect(callDeltas[0].choices[0].delta).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] });
    expect(callDeltas[1].choices[0].delta.tool_calls[0]).toMatchObject({ index: 1, function: { arguments: '{"city":"Oslo"}' } });
    if (up.kind === 'grok') {
      // Emulated calls get ids of the server's own.
      expect(callDeltas[1].choices[0].delta.tool_calls[0].id).toMatch(/^call_[0-9a-f]{24}$/);
    } else {
      // Native calls keep the provider's ids, and tool_choice went to xAI as it is.
      expect(callDeltas.map((c) => c.choices[0].delta.tool_calls[0].id)).toEqual(['call_xai_paris', 'call_xai_oslo']);
      expect(up.turns(tag).at(-1)!.body.tool_choice).toBe('required');
    }
    expect(chunks.filter((c) => c.choices[0]?.delta?.content).length).toBe(0);
    expect(chunks.find((c) => c.choices[0]?.finish_reason).choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);

    const res = await post(body);
    const json = await res.json();
    expectValid('CreateChatCompletionResponse', json);
    expect(json.choices[0].message.content).toBeNull();
    expect(json.choices[0].message.tool_calls.map((c: { function: { arguments: string } }) => c.function.arguments)).toEqual(['{"city":"Paris"}', '{"city":"Oslo"}']);
    expect(json.choices[0].finish_reason).toBe('tool_calls');

    // parallel_tool_calls: false keeps only the first call, streamed or not.
    const single = await (await post({ ...body, parallel_tool_calls: false })).json();
    expect(single.choices[0].message.tool_calls).toHaveLength(1);
    const s1 = await readSse(await post({ ...body, parallel_tool_calls: false, stream: true }));
    expect(s1.data.filter((d) => d.includes('"tool_calls":[{'))).toHaveLength(1);
    // On xAI the flag is the API's own (grok.com: the server keeps the first call).
    if (up.kind === 'xai') expect(up.turns(tag).at(-1)!.body.parallel_tool_calls).toBe(false);
  });

  const aiModels = (): [string, LanguageModel][] => [
    ['openai-compatible', createOpenAICompatible({ name: 'grok', baseURL: `${up.stack.url}/v1`, apiKey: API_KEY, includeUsage: true, fetch: v.fetch })(up.model)],
    ['@ai-sdk/openai .chat', createOpenAI({ baseURL: `${up.stack.url}/v1`, apiKey: API_KEY, fetch: v.fetch }).chat(up.model)],
  ];
  const aiTools = () => ({
    get_weather: tool({ description: 'Weather by city', inputSchema: jsonSchema<{ city: string }>(WEATHER_PARAMS), execute: async ({ city }) => (city === 'Paris' ? RESULT : 'unknown') }),
  });

  it('ai SDK generateText / streamText with a tool and stopWhen: both providers finish the loop', async () => {
    for (const [label, model] of aiModels()) {
      const tag = scriptLoop();
      const r = await generateText({ model, prompt: `Weather in Paris? ${tag}`, tools: aiTools(), stopWhen: stepCountIs(3), maxRetries: 0 });
      expect(r.text, label).toBe(FINAL);
      expect(r.steps[0]!.finishReason, label).toBe('tool-calls');
      expect(r.steps[0]!.toolCalls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Paris' } });
      expectFaithfulHistory(tag);

      const tag2 = scriptLoop();
      const s = streamText({ model, prompt: `Weather in Paris? ${tag2}`, tools: aiTools(), stopWhen: stepCountIs(3), maxRetries: 0 });
      expect(await s.text, label).toBe(FINAL);
      const steps = await s.steps;
      expect(steps).toHaveLength(2);
      expect(steps[0]!.toolResults[0]).toMatchObject({ toolName: 'get_weather', output: RESULT });
      expect(await s.finishReason).toBe('stop');
    }
  });

  it('LangChain ChatOpenAI bindTools: invoke and stream return the call', async () => {
    const llm = new ChatOpenAI({ model: up.model, apiKey: API_KEY, maxRetries: 0, configuration: { baseURL: `${up.stack.url}/v1`, fetch: v.fetch } });
    const bound = llm.bindTools([{ type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: WEATHER_PARAMS } }]);
    const tag = scriptLoop();
    const msg = await bound.invoke(`Weather in Paris? ${tag}`);
    expect(msg.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { city: 'Paris' } });
    expect(msg.tool_calls?.[0]?.id).toMatch(/^call_/);
    let names = '';
    let args = '';
    for await (const chunk of await bound.stream(`Weather in Paris? ${tag}`)) {
      for (const c of chunk.tool_call_chunks ?? []) {
        names += c.name ?? '';
        args += c.args ?? '';
      }
    }
    expect(names).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
  });

  it('tool_choice none: no tools used, markup-looking text stays text', async () => {
    const tag = `case-${name}-none`;
    up.plain(tag, { answer: 'Plain <tool_calls> talk' });
    const c = await openai().chat.completions.create({ model: up.model, messages: [{ role: 'user', content: tag }], tools: [{ type: 'function', function: { name: 'get_weather' } }], tool_choice: 'none' });
    expect(c.choices[0]!.message.content).toBe('Plain <tool_calls> talk');
    expect(c.choices[0]!.finish_reason).toBe('stop');
    const sent = up.turns(tag).at(-1)!;
    // grok.com: no tool prompt at all; xAI: the tools and tool_choice "none" as the API's own.
    if (up.kind === 'grok') expect(sent.text).toBe(`[user]: ${tag}`);
    else expect(sent.body).toMatchObject({ tool_choice: 'none', tools: [{ type: 'function', function: { name: 'get_weather' } }] });
  });
});
