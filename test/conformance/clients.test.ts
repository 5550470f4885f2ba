import Anthropic from '@anthropic-ai/sdk';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, streamText } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTokens, warmTokenizer } from '../../src/lib/tokenizer.js';
import { ANSWER, REASONING, USAGE } from '../fake-xai/server.js';
import { API_KEY } from '../helpers/stack.js';
import { startUpstream, UPSTREAMS, type Upstream } from './upstreams.js';
import { validatingFetch } from './validating-fetch.js';

/**
 * The real clients on every upstream through the neutral pipeline: the Vercel AI SDK (text,
 * stream, usage), the openai SDK's Responses API and the Anthropic SDK through /v1/messages
 * (thinking, text, usage, tool_use). Both upstreams answer the same text; what must differ is the
 * usage — xAI reports its own counts (passed on as they are), grok.com reports none (the server's
 * estimate, counted with the tokenizer) — and how a tool call is produced (emulated markup on
 * grok.com, xAI's native call with its own id). Chat bodies and chunks are checked against the
 * OpenAI spec (validating-fetch.ts).
 */
const CALL = '<tool_calls>\n  <tool_call>\n    <tool_name>get_weather</tool_name>\n    <parameters>{"city": "Paris"}</parameters>\n  </tool_call>\n</tool_calls>';
const WEATHER = { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };

describe.each(UPSTREAMS)('clients on %s', (name) => {
  let up: Upstream;
  const v = validatingFetch();
  let n = 0;
  const tag = () => `client-${name}-${++n}`;
  /** The same answer on both: grok.com scripted to say what the fake xAI says by default (with its reasoning when asked). */
  const scriptAnswer = (t: string, withReasoning = false) => {
    if (up.kind === 'xai') return; // the fake xAI's default answer: ANSWER, REASONING, USAGE
    if (withReasoning) up.stack.fake.script(t, { kind: 'reasoning', thinking: [REASONING], answer: ANSWER });
    else up.plain(t, { answer: ANSWER, chunkSize: 4 });
  };
  const provider = () => createOpenAICompatible({ name: 'g2a', baseURL: `${up.stack.url}/v1`, apiKey: API_KEY, fetch: v.fetch, includeUsage: true });

  beforeAll(async () => {
    await warmTokenizer();
    up = await startUpstream(name, 'tok-clients', 2);
  });
  afterAll(async () => {
    expect(v.problems).toEqual([]);
    expect(v.checked()).toBeGreaterThan(5);
    await up.close();
  });

  it('AI SDK generateText and streamText: the answer and its token counts (the provider\'s, or the estimate)', async () => {
    const t = tag();
    scriptAnswer(t);
    const text = await generateText({ model: provider()(up.model), prompt: `hi ${t}`, maxRetries: 0 });
    expect(text.text).toBe(ANSWER);
    const stream = streamText({ model: provider()(up.model), prompt: `hi ${t}`, maxRetries: 0 });
    expect(await stream.text).toBe(ANSWER);
    const streamed = await stream.usage;
    if (up.kind === 'xai') {
      expect(text.usage.inputTokens).toBe(USAGE.prompt_tokens);
      expect(text.usage.outputTokens).toBe(USAGE.completion_tokens);
      expect(streamed.inputTokens).toBe(USAGE.prompt_tokens);
    } else {
      expect(text.usage.outputTokens).toBe(countTokens(ANSWER));
      expect(text.usage.inputTokens).toBeGreaterThan(0);
      expect(streamed).toMatchObject({ inputTokens: text.usage.inputTokens, outputTokens: text.usage.outputTokens });
    }
  });

  it('openai Responses API: output text, the reasoning item and usage, streamed or not', async () => {
    const client = new OpenAI({ baseURL: `${up.stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const t = tag();
    scriptAnswer(t, true);
    const res = await client.responses.create({ model: up.model, input: `hi ${t}`, reasoning: { effort: 'high' } });
    expect(res.output_text).toBe(ANSWER);
    expect(res.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    const summary = (res.output[0] as { summary: { text: string }[] }).summary.map((s) => s.text).join('');
    expect(summary).toContain(REASONING);
    if (up.kind === 'xai') {
      expect(res.usage).toMatchObject({ input_tokens: 37, output_tokens: 19, output_tokens_details: { reasoning_tokens: 11 } });
    } else {
      // Estimated: the reasoning is part of the output count.
      expect(res.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
      expect(res.usage!.output_tokens).toBe(countTokens(ANSWER) + res.usage!.output_tokens_details.reasoning_tokens);
    }
    const t2 = tag();
    scriptAnswer(t2);
    const stream = client.responses.stream({ model: up.model, input: `hi ${t2}` });
    expect((await stream.finalResponse()).output_text).toBe(ANSWER);
  });

  it('Anthropic SDK through /v1/messages: thinking, text and usage; streamed; tool_use from a call', async () => {
    const client = new Anthropic({ baseURL: up.stack.url, apiKey: API_KEY, maxRetries: 0 });
    const t = tag();
    scriptAnswer(t, true);
    const msg = await client.messages.create({ model: up.model, max_tokens: 256, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: `hi ${t}` }] });
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(msg.content[1]).toMatchObject({ type: 'text', text: ANSWER });
    expect((msg.content[0] as { thinking: string }).thinking).toContain(REASONING);
    if (up.kind === 'xai') expect(msg.usage).toMatchObject({ input_tokens: 37, output_tokens: 19 });
    else expect(msg.usage.input_tokens).toBeGreaterThan(0);

    const t2 = tag();
    scriptAnswer(t2);
    const streamed = await client.messages.stream({ model: up.model, max_tokens: 256, messages: [{ role: 'user', content: `hi ${t2}` }] }).finalMessage();
    expect(streamed.content.at(-1)).toMatchObject({ type: 'text', text: ANSWER });
    if (up.kind === 'grok') expect(streamed.usage.output_tokens).toBe(countTokens(ANSWER));

    const t3 = tag();
    // grok.com: the emulated markup; xAI: its default answer to offered tools is a native call.
    if (up.kind === 'grok') up.plain(t3, { answer: CALL });
    const call = await client.messages.create({ model: up.model, max_tokens: 256, tools: [WEATHER], messages: [{ role: 'user', content: `Weather in Paris? ${t3}` }] });
    expect(call.stop_reason).toBe('tool_use');
    const use = call.content.find((b) => b.type === 'tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    // xAI's own call id is kept; grok.com's emulated calls get the server's.
    if (up.kind === 'xai') expect((use as { id: string }).id).toBe('call_xai_1');
    else expect((use as { id: string }).id).toMatch(/^call_[0-9a-f]{24}$/);
  });
});
