import { markNative, type UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import { UpstreamError } from '../../errors.js';
import type { ChatCallContext, ChatUpstream } from '../types.js';
import { ATTR, noteOnActiveSpan } from '../../tracing/tracing.js';
import { xaiMessage } from './classify.js';
import type { XaiClient } from './client.js';
import { xaiChatBody } from './chat-payload.js';
import { sseData } from './sse-lines.js';

/** One `chat.completion.chunk` as xAI streams it (only the fields read here). */
interface Chunk {
  choices?: {
    delta?: {
      content?: string | null;
      reasoning_content?: string | null;
      tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason?: string | null;
  }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number };
    completion_tokens_details?: { reasoning_tokens?: number };
  } | null;
  citations?: string[];
  error?: unknown;
}

const REASONS: Record<string, 'stop' | 'length' | 'tool_calls'> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', function_call: 'tool_calls' };

/** The model name this lease asks xAI for: the pool leases xAI credentials under it as the mode. */
const modelOf = (ctx: ChatCallContext) => ctx.lease.mode;

/**
 * Chat over the xAI API's `POST /chat/completions`, always streamed upstream: the chunks map one
 * to one onto neutral events (text, reasoning, whole tool calls, citations, the reported usage),
 * whether the client asked for a stream or a body. Primed like every chat upstream: it resolves
 * once the status is 2xx and the first chunk arrived, so key, rate-limit and credit failures are
 * pool retries, not broken streams.
 */
export function createXaiChatUpstream(client: XaiClient): ChatUpstream {
  return {
    async openChat(intent: ChatIntent, ctx: ChatCallContext) {
      noteOnActiveSpan({ [ATTR.transport]: 'http' });
      const res = await client.send('POST', 'chat/completions', ctx.lease.token, xaiChatBody(intent, modelOf(ctx)), ctx.signal);
      const events = turnEvents(res.body);
      const first = await events.next().catch((err: unknown) => {
        res.body.destroy();
        throw err;
      });
      return markNative(primed(first, events), { tools: true, maxTokens: true });
    },
  };
}

async function* primed(first: IteratorResult<UpstreamEvent>, rest: AsyncGenerator<UpstreamEvent>): AsyncGenerator<UpstreamEvent> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}

/** The undici body as this module uses it (`iterator` is Node's `Readable.prototype.iterator`). */
type Body = AsyncIterable<Buffer> & {
  destroy(): void;
  resume(): unknown;
  on(event: 'error', listener: () => void): unknown;
  iterator?(options: { destroyOnReturn: boolean }): AsyncIterable<Buffer>;
};

async function* turnEvents(body: Body): AsyncGenerator<UpstreamEvent> {
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  const cited = new Set<string>();
  let reason: 'stop' | 'length' | 'tool_calls' | null = null;
  let usage: UpstreamEvent | null = null;
  let ended = false;
  try {
    // Not destroyed when we stop at [DONE]: the chunked body's terminator often arrives in the
    // next read, and destroying before it (Node's iterator does on return, with an AbortError and
    // its stack) made undici close the keep-alive socket, so the next call paid a TLS handshake.
    for await (const data of sseData(body.iterator ? body.iterator({ destroyOnReturn: false }) : body)) {
      if (data === '[DONE]') {
        ended = true;
        break;
      }
      let chunk: Chunk;
      try {
        chunk = JSON.parse(data) as Chunk;
      } catch {
        throw new UpstreamError(502, 'upstream_bad_response', 'The xAI API streamed a chunk that is not JSON.', 'retry-other', 'none', undefined, 200);
      }
      if (chunk.error) throw new UpstreamError(502, 'upstream_stream_error', `The xAI API failed mid-answer: ${xaiMessage(JSON.stringify(chunk))}`, 'retry-other', 'none', undefined, 200);
      for (const url of chunk.citations ?? []) {
        if (!cited.has(url)) {
          cited.add(url);
          yield { type: 'citation', url };
        }
      }
      const choice = chunk.choices?.[0];
      const d = choice?.delta;
      if (d?.reasoning_content) yield { type: 'reasoning', text: d.reasoning_content };
      if (d?.content) yield { type: 'text', text: d.content };
      for (const tc of d?.tool_calls ?? []) {
        // xAI sends each call whole; OpenAI-style pieces (id and name first, arguments later) also add up.
        const i = tc.index ?? calls.size;
        const call = calls.get(i) ?? { id: '', name: '', arguments: '' };
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name += tc.function.name;
        if (tc.function?.arguments) call.arguments += tc.function.arguments;
        calls.set(i, call);
      }
      if (choice?.finish_reason) reason = REASONS[choice.finish_reason] ?? 'stop';
      if (chunk.usage) {
        const u = chunk.usage;
        usage = {
          type: 'usage',
          promptTokens: u.prompt_tokens ?? 0,
          completionTokens: u.completion_tokens ?? 0,
          reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
          cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
        };
      }
    }
    // A body that stops without [DONE] was cut off: never passed on as a finished answer.
    if (!ended) throw new UpstreamError(502, 'upstream_stream_error', 'The xAI API stream ended before its [DONE] line.', 'retry-other', 'none', undefined, 200);
    for (const [, c] of [...calls].sort((a, b) => a[0] - b[0])) yield { type: 'tool_call', call: { id: c.id || `call_${Math.random().toString(16).slice(2, 14)}`, name: c.name, arguments: c.arguments || '{}' } };
    if (usage) yield usage;
    yield { type: 'done', reason: calls.size ? 'tool_calls' : (reason ?? 'stop') };
  } finally {
    if (ended) {
      // After [DONE] only the body's end is left: read it so undici can reuse the connection (its
      // idle timeout still closes one whose server never ends the body).
      body.on('error', () => {});
      body.resume();
    } else {
      // Stopped early (a client abort or an emulated stop sequence): close the upstream connection.
      body.destroy();
    }
  }
}
