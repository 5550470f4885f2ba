import { randomBytes } from 'node:crypto';
import { anthropicErrorBody } from '../anthropic/schemas.js';
import type { UpstreamEvent } from '../core/events.js';
import { toAppError } from '../errors.js';
import { sseEvent } from '../http/sse.js';
import { randomId } from '../lib/ids.js';
import { GrowingText } from '../lib/rope.js';
import { countTokens } from '../lib/tokenizer.js';
import type { MessagesPlan } from './anthropic-messages-input.js';
import type { TokenUsage } from '../stats/pricing.js';

type Block = Record<string, unknown>;
type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use';
export type AnthropicEvent = { type: string } & Record<string, unknown>;

/**
 * Thinking blocks carry a signature that real clients keep and send back. This server never
 * checks it (earlier thinking is not replayed upstream), so it is an opaque random value.
 */
const signature = () => randomBytes(48).toString('base64');

/**
 * The Anthropic Messages state machine, shared by the stream and the non-stream path: neutral
 * events in, `content_block_*` events out (one block open at a time, indexes from 0), and the
 * final message. Thinking is a block of its own when requested and it comes before the answer.
 */
export class MessageBuilder {
  readonly id = randomId('msg_');
  private readonly content: Block[] = [];
  private open: { kind: 'thinking' | 'text'; index: number; text: GrowingText } | null = null;
  private outputText = '';
  private stopReason: StopReason = 'end_turn';
  private stopSequence: string | null = null;
  private started = false;
  /** Counts the upstream reported (replace the estimate when present). */
  private reported: Extract<UpstreamEvent, { type: 'usage' }> | null = null;

  constructor(private readonly plan: MessagesPlan) {}

  private usage(final: boolean) {
    const r = this.reported;
    const output = final ? (r ? r.completionTokens : countTokens(this.outputText)) : 0;
    return { input_tokens: r ? r.promptTokens : this.plan.inputTokens, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: r?.cachedTokens ?? 0 };
  }

  /** The final `usage` as token counts for pricing, `estimated` when the upstream reported none. */
  metered(): TokenUsage {
    const u = this.usage(true);
    return { promptTokens: u.input_tokens, completionTokens: u.output_tokens, estimated: this.reported === null };
  }

  private message(final: boolean): Block {
    return {
      id: this.id,
      type: 'message',
      role: 'assistant',
      model: this.plan.intent.model.id,
      content: final ? this.content : [],
      stop_reason: final ? this.stopReason : null,
      stop_sequence: final ? this.stopSequence : null,
      usage: this.usage(final),
    };
  }

  start(): AnthropicEvent[] {
    return [{ type: 'message_start', message: this.message(false) }, { type: 'ping' }];
  }

  private closeOpen(): AnthropicEvent[] {
    const o = this.open;
    if (!o) return [];
    this.open = null;
    const out: AnthropicEvent[] = [];
    if (o.kind === 'thinking') {
      const sig = signature();
      this.content.push({ type: 'thinking', thinking: o.text.text, signature: sig });
      out.push({ type: 'content_block_delta', index: o.index, delta: { type: 'signature_delta', signature: sig } });
    } else {
      this.content.push({ type: 'text', text: o.text.text });
    }
    out.push({ type: 'content_block_stop', index: o.index });
    return out;
  }

  private delta(kind: 'thinking' | 'text', piece: string): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    if (this.open?.kind !== kind) {
      out.push(...this.closeOpen());
      this.open = { kind, index: this.content.length, text: new GrowingText() };
      const block = kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'text', text: '' };
      out.push({ type: 'content_block_start', index: this.open.index, content_block: block });
    }
    if (!piece) return out;
    this.open!.text.add(piece);
    this.outputText += piece;
    const d = kind === 'thinking' ? { type: 'thinking_delta', thinking: piece } : { type: 'text_delta', text: piece };
    out.push({ type: 'content_block_delta', index: this.open!.index, delta: d });
    return out;
  }

  push(e: UpstreamEvent): AnthropicEvent[] {
    if (e.type === 'usage') {
      this.reported = e;
      return [];
    }
    if (e.type === 'reasoning') {
      // Reasoning that arrives once the answer has begun is not shown (a block cannot reopen).
      if (!this.plan.intent.thinking || this.started || !e.text) return [];
      return this.delta('thinking', e.text);
    }
    if (e.type === 'text') {
      if (!e.text) return [];
      this.started = true;
      return this.delta('text', e.text);
    }
    if (e.type === 'tool_call') {
      this.started = true;
      const out = this.closeOpen();
      const index = this.content.length;
      let input: unknown = {};
      try {
        input = JSON.parse(e.call.arguments || '{}');
      } catch {
        // The tools stage only emits parseable arguments; keep the message well-formed regardless.
      }
      this.content.push({ type: 'tool_use', id: e.call.id, name: e.call.name, input });
      this.outputText += e.call.arguments;
      out.push({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: e.call.id, name: e.call.name, input: {} } });
      out.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: e.call.arguments || '{}' } });
      out.push({ type: 'content_block_stop', index });
      return out;
    }
    if (e.type === 'done') {
      if (e.reason === 'tool_calls') this.stopReason = 'tool_use';
      else if (e.reason === 'length') this.stopReason = 'max_tokens';
      else if (e.stopSequence !== undefined) {
        this.stopReason = 'stop_sequence';
        this.stopSequence = e.stopSequence;
      }
    }
    return [];
  }

  /** Closes the open block; an answer with no blocks at all still gets an (empty) text block. */
  close(): AnthropicEvent[] {
    const out = this.closeOpen();
    if (!this.content.some((b) => b.type !== 'thinking')) {
      out.push(...this.delta('text', ''), ...this.closeOpen());
    }
    return out;
  }

  finish(): AnthropicEvent[] {
    return [
      { type: 'message_delta', delta: { stop_reason: this.stopReason, stop_sequence: this.stopSequence }, usage: { output_tokens: this.usage(true).output_tokens } },
      { type: 'message_stop' },
    ];
  }

  final(): Block {
    return this.message(true);
  }
}

/** Non-stream: the final message; `meter` is told its usage. */
export async function collectMessage(plan: MessagesPlan, events: AsyncIterable<UpstreamEvent>, meter?: (u: TokenUsage) => void): Promise<Block> {
  const b = new MessageBuilder(plan);
  for await (const e of events) b.push(e);
  b.close();
  meter?.(b.metered());
  return b.final();
}

/**
 * Anthropic SSE: `event: <type>` + `data:`; a failure after the first byte is an `error` event.
 * `meter` is told the usage once the turn ended whole.
 */
export async function* streamMessage(plan: MessagesPlan, events: AsyncIterable<UpstreamEvent>, meter?: (u: TokenUsage) => void): AsyncGenerator<string> {
  const b = new MessageBuilder(plan);
  const sse = (e: AnthropicEvent) => sseEvent(e.type, e);
  for (const e of b.start()) yield sse(e);
  try {
    for await (const e of events) for (const out of b.push(e)) yield sse(out);
  } catch (err) {
    yield sse(anthropicErrorBody(toAppError(err)));
    return;
  }
  const tail = [...b.close(), ...b.finish()];
  meter?.(b.metered());
  for (const e of tail) yield sse(e);
}
