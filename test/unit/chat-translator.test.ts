import { describe, expect, it } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import type { ModelSpec } from '../../src/core/models.js';
import { AppError, UpstreamError } from '../../src/errors.js';
import { chatRequestSchema } from '../../src/openai/chat-request.js';
import { collectChat } from '../../src/translators/chat-collect.js';
import { planChat, type ChatOptions } from '../../src/translators/chat-completions.js';
import { streamChat } from '../../src/translators/chat-stream.js';
import { expectValid } from '../helpers/openapi.js';

const model: ModelSpec = { id: 'grok-t', kind: 'chat', modes: ['expert'], tier: 'super', thinking: true, cost: 1, ownedBy: 'xai', created: 1 };
const opts: ChatOptions = { defaultThinking: true, reasoningFormat: 'field', maxMessages: 100 };

function plan(body: Record<string, unknown>, o = opts) {
  return planChat(chatRequestSchema.parse({ model: 'grok-t', ...body }), model, o);
}

async function* events(list: UpstreamEvent[], fail?: Error) {
  for (const e of list) yield e;
  if (fail) throw fail;
}

const turn: UpstreamEvent[] = [
  { type: 'meta', conversationId: 'c1' },
  { type: 'reasoning', text: 'Let me think. ' },
  { type: 'text', text: 'Paris' },
  { type: 'text', text: ' is the capital [[1]](https://example.com/paris).' },
  { type: 'citation', url: 'https://example.com/paris', title: 'Paris' },
  { type: 'done' },
];

describe('chat translator', () => {
  it('normalises roles and drops empty messages', () => {
    const p = plan({ messages: [{ role: 'developer', content: 'rules' }, { role: 'user', content: '' }, { role: 'function', content: 'r', tool_call_id: 'c' }, { role: 'user', content: 'q' }] });
    expect(p.intent.messages.map((m) => m.role)).toEqual(['system', 'tool', 'user']);
    expect(p.intent.messages[1]!.toolCallId).toBe('c');
    expect(p.promptTokens).toBeGreaterThan(3);
  });

  it('turns thinking off on request', () => {
    expect(plan({ messages: [{ role: 'user', content: 'q' }] }).intent.thinking).toBe(true);
    expect(plan({ thinking: 'disabled', messages: [{ role: 'user', content: 'q' }] }).intent.thinking).toBe(false);
    expect(plan({ reasoning_effort: 'none', messages: [{ role: 'user', content: 'q' }] }).intent.thinking).toBe(false);
  });

  it('refuses what it cannot honour with the parameter named', () => {
    const refuse = (body: Record<string, unknown>) => {
      try {
        plan({ messages: [{ role: 'user', content: 'q' }], ...body });
      } catch (e) {
        return e as AppError;
      }
      throw new Error('accepted');
    };
    // tools, n and response_format are emulated now (test/tools); what cannot be honoured still names its parameter.
    expect(refuse({ tools: [{ type: 'code_interpreter' }] }).param).toBe('tools[0].type');
    expect(refuse({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }).param).toBe('tool_choice.function.name');
    expect(refuse({ response_format: { type: 'json_schema' } }).param).toBe('response_format.json_schema');
    expect(refuse({ stream_options: { include_usage: true } }).param).toBe('stream_options');
    expect(refuse({ messages: [{ role: 'user', content: [{ type: 'mystery_part' }] }] }).param).toBe('messages[0].content[0].type');
  });

  it('collects a turn into a valid chat.completion with reasoning, annotations and usage', async () => {
    const body = await collectChat(plan({ messages: [{ role: 'user', content: 'capital?' }] }), events(turn));
    expectValid('CreateChatCompletionResponse', body);
    const msg = (body.choices as any)[0].message;
    expect(msg.content).toBe('Paris is the capital [[1]](https://example.com/paris).');
    expect(msg.reasoning_content).toBe('Let me think. ');
    expect(msg.annotations).toHaveLength(1);
    const a = msg.annotations[0].url_citation;
    expect(msg.content.slice(a.start_index, a.end_index)).toBe('[[1]](https://example.com/paris)');
    expect(body.citations).toEqual(['https://example.com/paris']);
  });

  it('can inline reasoning as <think> tags', async () => {
    const p = plan({ messages: [{ role: 'user', content: 'q' }] }, { ...opts, reasoningFormat: 'think_tags' });
    const body = await collectChat(p, events(turn));
    expect((body.choices as any)[0].message.content).toMatch(/^<think>\nLet me think. \n<\/think>\nParis/);
    let streamed = '';
    for await (const s of streamChat(p, events(turn))) {
      if (s.startsWith('data: {')) streamed += JSON.parse(s.slice(6)).choices[0]?.delta?.content ?? '';
    }
    expect(streamed).toMatch(/^<think>\nLet me think. \n<\/think>\nParis/);
  });

  it('streams valid chunks: role first, reasoning and content deltas, finish, usage, [DONE]', async () => {
    const p = plan({ stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'q' }] });
    const out: string[] = [];
    for await (const s of streamChat(p, events(turn))) out.push(s);
    expect(out.every((s) => s.startsWith('data: ') && s.endsWith('\n\n'))).toBe(true);
    expect(out.at(-1)).toBe('data: [DONE]\n\n');
    const chunks = out.slice(0, -1).map((s) => JSON.parse(s.slice(6)));
    for (const c of chunks) expectValid('CreateChatCompletionStreamResponse', c);
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks[1].choices[0].delta.reasoning_content).toBe('Let me think. ');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1).usage.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });

  it('reports a failure after the first byte in-band and still ends with [DONE]', async () => {
    const p = plan({ stream: true, messages: [{ role: 'user', content: 'q' }] });
    const out: string[] = [];
    const failure = new UpstreamError(502, 'upstream_bad_response', 'grok.com broke off the answer', 'retry-other', 'none');
    for await (const s of streamChat(p, events(turn.slice(0, 3), failure))) out.push(s);
    expect(out.at(-1)).toBe('data: [DONE]\n\n');
    const err = JSON.parse(out.at(-2)!.slice(6));
    expectValid('ErrorResponse', err);
    expect(err.error.code).toBe('upstream_bad_response');
  });
});

describe('streamed delta fast path', () => {
  it('writes text and reasoning chunks byte-identical to the generic serialisation', async () => {
    for (const stream_options of [undefined, { include_usage: true }]) {
      const p = plan({ stream: true, stream_options, messages: [{ role: 'user', content: 'q' }] });
      const tricky: UpstreamEvent[] = [
        { type: 'reasoning', text: 'quote " backslash \\ newline \n' },
        { type: 'text', text: 'emoji 🚀 and \u2028 and </script>' },
        { type: 'done' },
      ];
      const out: string[] = [];
      for await (const s of streamChat(p, events(tricky))) out.push(s);
      for (const s of out.slice(0, -1)) {
        expect(s).toBe(`data: ${JSON.stringify(JSON.parse(s.slice(6)))}\n\n`);
        expectValid('CreateChatCompletionStreamResponse', JSON.parse(s.slice(6)));
      }
      const deltas = out.slice(1, 3).map((s) => JSON.parse(s.slice(6)).choices[0].delta);
      expect(deltas).toEqual([{ reasoning_content: tricky[0]!.type === 'reasoning' ? 'quote " backslash \\ newline \n' : '' }, { content: 'emoji 🚀 and \u2028 and </script>' }]);
    }
  });
});
