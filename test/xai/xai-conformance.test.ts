import Anthropic from '@anthropic-ai/sdk';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatingFetch } from '../conformance/validating-fetch.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { ANSWER, REASONING, TOOL_RESULT_ANSWER, USAGE, startFakeXai, type FakeXai } from '../fake-xai/server.js';

/**
 * The real clients on the xAI upstream: the Vercel AI SDK (text, stream, a tool loop), the openai
 * SDK's Responses API and the Anthropic SDK through /v1/messages, all fed from the xAI API's
 * chat completions through the neutral pipeline. Chat bodies and chunks are checked against the
 * OpenAI spec (validating-fetch.ts).
 */
describe('clients on the xAI upstream', () => {
  let stack: Stack;
  let xai: FakeXai;
  const v = validatingFetch();
  const provider = () => createOpenAICompatible({ name: 'g2a', baseURL: `${stack.url}/v1`, apiKey: API_KEY, fetch: v.fetch, includeUsage: true });

  beforeAll(async () => {
    xai = await startFakeXai();
    xai.key('xai-conformance-key-1', 'ok');
    stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    await stack.importTokens(['xai-conformance-key-1'], { kind: 'xai' });
  });
  afterAll(async () => {
    expect(v.problems).toEqual([]);
    expect(v.checked()).toBeGreaterThan(5);
    await stack.close();
    await xai.close();
  });

  it('AI SDK generateText and streamText: the answer and the provider\'s token counts', async () => {
    const text = await generateText({ model: provider()('xai/grok-4'), prompt: 'hi' });
    expect(text.text).toBe(ANSWER);
    expect(text.usage.inputTokens).toBe(USAGE.prompt_tokens);
    expect(text.usage.outputTokens).toBe(USAGE.completion_tokens);
    const stream = streamText({ model: provider()('xai/grok-4'), prompt: 'hi' });
    expect(await stream.text).toBe(ANSWER);
    expect((await stream.usage).inputTokens).toBe(USAGE.prompt_tokens);
  });

  it('AI SDK tool loop on native tools', async () => {
    const result = await generateText({
      model: provider()('xai/grok-4'),
      prompt: 'Weather in Paris?',
      tools: { get_weather: tool({ description: 'Weather by city', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), execute: async ({ city }) => `18C and sunny in ${city}` }) },
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe(TOOL_RESULT_ANSWER);
    expect(result.steps[0]!.toolCalls[0]).toMatchObject({ toolName: 'get_weather', input: { city: 'Paris' } });
  });

  it('openai Responses API: output text, reasoning and usage from the provider', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const res = await client.responses.create({ model: 'xai/grok-4', input: 'hi', reasoning: { effort: 'high' } });
    expect(res.output_text).toBe(ANSWER);
    expect(res.usage).toMatchObject({ input_tokens: 37, output_tokens: 19, output_tokens_details: { reasoning_tokens: 11 } });
    const stream = client.responses.stream({ model: 'xai/grok-4', input: 'hi' });
    expect((await stream.finalResponse()).output_text).toBe(ANSWER);
  });

  it('Anthropic SDK through /v1/messages: thinking, text and the provider\'s usage; tool_use from native calls', async () => {
    const client = new Anthropic({ baseURL: stack.url, apiKey: API_KEY, maxRetries: 0 });
    const msg = await client.messages.create({ model: 'xai/grok-4', max_tokens: 256, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(msg.content[1]).toMatchObject({ type: 'text', text: ANSWER });
    expect((msg.content[0] as { thinking: string }).thinking).toBe(REASONING);
    expect(msg.usage).toMatchObject({ input_tokens: 37, output_tokens: 19 });
    const streamed = await client.messages.stream({ model: 'xai/grok-4', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(streamed.content.at(-1)).toMatchObject({ type: 'text', text: ANSWER });
    const call = await client.messages.create({
      model: 'xai/grok-4',
      max_tokens: 256,
      tools: [{ name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(call.stop_reason).toBe('tool_use');
    expect(call.content.find((b) => b.type === 'tool_use')).toMatchObject({ id: 'call_xai_1', name: 'get_weather', input: { city: 'Paris' } });
  });
});
