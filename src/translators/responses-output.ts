import type { UpstreamEvent } from '../core/events.js';
import type { ToolCall } from '../core/intent.js';
import { AppError, toAppError } from '../errors.js';
import { sseEvent } from '../http/sse.js';
import { randomId } from '../lib/ids.js';
import { GrowingText } from '../lib/rope.js';
import { countTokens } from '../lib/tokenizer.js';
import { addCitation, citationSpans, type Citation } from './citations.js';
import type { ResponsesPlan } from './responses-input.js';
import type { TokenUsage } from '../stats/pricing.js';

/** One Responses stream event: `type`, `sequence_number`, then its own fields. */
export type ResponsesEvent = { type: string; sequence_number: number } & Record<string, unknown>;
type Item = Record<string, unknown>;

interface OpenItem {
  index: number;
  id: string;
  text: GrowingText;
}

/**
 * The Responses output state machine, shared by the stream and the non-stream path so both
 * produce the same object: neutral events in, spec events out (every item added once and done
 * once, in output_index order), and the final Response object. Reasoning is an item of its own at
 * output_index 0 when it comes first; reasoning arriving after the answer began is only counted.
 */
export class ResponseBuilder {
  readonly id = randomId('resp_');
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private completedAt: number | null = null;
  private seq = 0;
  private readonly output: Item[] = [];
  private nextIndex = 0;
  private reasoning: OpenItem | null = null;
  private message: OpenItem | null = null;
  private readonly text = new GrowingText();
  private readonly reasoningText = new GrowingText();
  private argsText = '';
  private readonly citations: Citation[] = [];
  private reason: 'stop' | 'length' | 'tool_calls' = 'stop';
  /** Counts the upstream reported (replace the estimate when present). */
  private reported: Extract<UpstreamEvent, { type: 'usage' }> | null = null;
  private hasCalls = false;
  private status: 'in_progress' | 'completed' | 'incomplete' | 'failed' = 'in_progress';
  private error: { code: string; message: string } | null = null;

  constructor(private readonly plan: ResponsesPlan) {}

  private ev(type: string, fields: Record<string, unknown>): ResponsesEvent {
    return { type, sequence_number: this.seq++, ...fields };
  }

  /** The turn's counts: the provider's report, else the estimate (text, call arguments and reasoning). */
  private counts() {
    const r = this.reported;
    const reasoningTokens = r ? r.reasoningTokens : countTokens(this.reasoningText.text);
    const outputTokens = r ? r.completionTokens : countTokens(this.text.text) + countTokens(this.argsText) + reasoningTokens;
    const inputTokens = r ? r.promptTokens : this.plan.promptTokens;
    return { reasoningTokens, outputTokens, inputTokens };
  }

  /** The final `usage` as token counts for pricing, `estimated` when the upstream reported none. */
  metered(): TokenUsage {
    const { inputTokens, outputTokens } = this.counts();
    return { promptTokens: inputTokens, completionTokens: outputTokens, estimated: this.reported === null };
  }

  /** The Response object as it stands (created/in_progress: empty output, no usage). */
  response(): Item {
    const final = this.status !== 'in_progress';
    const r = this.reported;
    const { reasoningTokens, outputTokens, inputTokens } = this.counts();
    return {
      id: this.id,
      object: 'response',
      created_at: this.createdAt,
      completed_at: this.completedAt,
      status: this.status,
      background: false,
      error: this.error,
      incomplete_details: this.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
      model: this.plan.intent.model.id,
      output: final ? this.output : [],
      output_text: final ? this.outputText() : '',
      ...this.plan.echo,
      max_tool_calls: null,
      frequency_penalty: 0,
      presence_penalty: 0,
      top_logprobs: 0,
      service_tier: 'default',
      safety_identifier: null,
      prompt_cache_key: null,
      usage: final
        ? {
            input_tokens: inputTokens,
            input_tokens_details: { cached_tokens: r?.cachedTokens ?? 0, cache_write_tokens: 0 },
            output_tokens: outputTokens,
            output_tokens_details: { reasoning_tokens: reasoningTokens },
            total_tokens: inputTokens + outputTokens,
          }
        : null,
    };
  }

  private outputText(): string {
    let s = '';
    for (const item of this.output) {
      if (item.type !== 'message') continue;
      for (const c of item.content as { type: string; text: string }[]) if (c.type === 'output_text') s += c.text;
    }
    return s;
  }

  start(): ResponsesEvent[] {
    const snapshot = this.response();
    return [this.ev('response.created', { response: snapshot }), this.ev('response.in_progress', { response: snapshot })];
  }

  push(e: UpstreamEvent): ResponsesEvent[] {
    switch (e.type) {
      case 'reasoning':
        this.reasoningText.add(e.text);
        return this.plan.intent.thinking && !this.message && !this.hasCalls && e.text ? this.reasoningDelta(e.text) : [];
      case 'text':
        return e.text ? this.textDelta(e.text) : [];
      case 'tool_call':
        return this.toolCall(e.call);
      case 'citation':
        addCitation(this.citations, e);
        return [];
      case 'done':
        this.reason = e.reason ?? 'stop';
        return [];
      case 'usage':
        this.reported = e;
        return [];
      default:
        return [];
    }
  }

  private reasoningDelta(delta: string): ResponsesEvent[] {
    const out: ResponsesEvent[] = [];
    if (!this.reasoning) {
      const r = (this.reasoning = { index: this.nextIndex++, id: randomId('rs_'), text: new GrowingText() });
      out.push(this.ev('response.output_item.added', { output_index: r.index, item: { id: r.id, type: 'reasoning', summary: [], status: 'in_progress' } }));
      out.push(this.ev('response.reasoning_summary_part.added', { item_id: r.id, output_index: r.index, summary_index: 0, part: { type: 'summary_text', text: '' } }));
    }
    const r = this.reasoning;
    r.text.add(delta);
    out.push(this.ev('response.reasoning_summary_text.delta', { item_id: r.id, output_index: r.index, summary_index: 0, delta }));
    return out;
  }

  private closeReasoning(): ResponsesEvent[] {
    const r = this.reasoning;
    if (!r) return [];
    this.reasoning = null;
    const part = { type: 'summary_text', text: r.text.text };
    const item = { id: r.id, type: 'reasoning', summary: [part], status: 'completed' };
    this.output.push(item);
    return [
      this.ev('response.reasoning_summary_text.done', { item_id: r.id, output_index: r.index, summary_index: 0, text: r.text.text }),
      this.ev('response.reasoning_summary_part.done', { item_id: r.id, output_index: r.index, summary_index: 0, part }),
      this.ev('response.output_item.done', { output_index: r.index, item }),
    ];
  }

  private openMessage(): ResponsesEvent[] {
    const out = this.closeReasoning();
    const m = (this.message = { index: this.nextIndex++, id: randomId('msg_'), text: new GrowingText() });
    out.push(this.ev('response.output_item.added', { output_index: m.index, item: { id: m.id, type: 'message', role: 'assistant', status: 'in_progress', content: [] } }));
    out.push(this.ev('response.content_part.added', { item_id: m.id, output_index: m.index, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } }));
    return out;
  }

  private textDelta(delta: string): ResponsesEvent[] {
    const out = this.message ? [] : this.openMessage();
    const m = this.message!;
    m.text.add(delta);
    this.text.add(delta);
    out.push(this.ev('response.output_text.delta', { item_id: m.id, output_index: m.index, content_index: 0, delta, logprobs: [] }));
    return out;
  }

  private closeMessage(status: 'completed' | 'incomplete'): ResponsesEvent[] {
    const m = this.message;
    if (!m) return [];
    this.message = null;
    const annotations = citationSpans(m.text.text, this.citations).map((s) => ({ type: 'url_citation', url: s.url, title: s.title, start_index: s.start, end_index: s.end }));
    const out = annotations.map((annotation, i) =>
      this.ev('response.output_text.annotation.added', { item_id: m.id, output_index: m.index, content_index: 0, annotation_index: i, annotation }),
    );
    const part = { type: 'output_text', text: m.text.text, annotations, logprobs: [] };
    const item = { id: m.id, type: 'message', role: 'assistant', status, content: [part] };
    this.output.push(item);
    out.push(this.ev('response.output_text.done', { item_id: m.id, output_index: m.index, content_index: 0, text: m.text.text, logprobs: [] }));
    out.push(this.ev('response.content_part.done', { item_id: m.id, output_index: m.index, content_index: 0, part }));
    out.push(this.ev('response.output_item.done', { output_index: m.index, item }));
    return out;
  }

  private toolCall(call: ToolCall): ResponsesEvent[] {
    const out = [...this.closeReasoning(), ...this.closeMessage('completed')];
    this.hasCalls = true;
    this.argsText += call.arguments;
    const index = this.nextIndex++;
    const id = randomId('fc_');
    const base = { id, type: 'function_call', call_id: call.id, name: call.name };
    out.push(this.ev('response.output_item.added', { output_index: index, item: { ...base, arguments: '', status: 'in_progress' } }));
    out.push(this.ev('response.function_call_arguments.delta', { item_id: id, output_index: index, delta: call.arguments }));
    out.push(this.ev('response.function_call_arguments.done', { item_id: id, output_index: index, name: call.name, arguments: call.arguments }));
    const item = { ...base, arguments: call.arguments, status: 'completed' };
    this.output.push(item);
    out.push(this.ev('response.output_item.done', { output_index: index, item }));
    return out;
  }

  /** Closes open items after the last upstream event (an empty answer still gets a message item). */
  close(): ResponsesEvent[] {
    const cut = this.reason === 'length';
    const out = this.closeReasoning();
    if (!this.message && !this.hasCalls && !this.output.some((i) => i.type === 'message')) out.push(...this.openMessage());
    out.push(...this.closeMessage(cut ? 'incomplete' : 'completed'));
    this.status = cut ? 'incomplete' : 'completed';
    this.completedAt = Math.floor(Date.now() / 1000);
    return out;
  }

  /** `response.completed` or `response.incomplete`, after close(). */
  terminal(): ResponsesEvent {
    return this.ev(this.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: this.response() });
  }

  /** After a failure mid-turn: `response.failed` with what was finished so far. */
  fail(err: unknown): ResponsesEvent {
    const e = toAppError(err);
    this.status = 'failed';
    this.completedAt = null;
    this.error = { code: failCode(e), message: e.message };
    return this.ev('response.failed', { response: this.response() });
  }
}

/** `response.error.code` must come from the spec's ResponseErrorCode list. */
function failCode(e: AppError): string {
  return e.status === 429 ? 'rate_limit_exceeded' : 'server_error';
}

/**
 * Non-stream: folds the whole turn into the final Response object (failures throw, so the pool
 * may retry); `meter` is told its usage.
 */
export async function collectResponse(plan: ResponsesPlan, events: AsyncIterable<UpstreamEvent>, meter?: (u: TokenUsage) => void): Promise<Item> {
  const b = new ResponseBuilder(plan);
  b.start();
  for await (const e of events) b.push(e);
  b.close();
  meter?.(b.metered());
  return b.response();
}

/**
 * Stream: `event:` + `data:` per event. `persist` runs before the terminal event, so a client
 * that saw `response.completed` can rely on the stored response. A failure after the first
 * byte ends the stream with `response.failed`.
 */
export async function* streamResponse(
  plan: ResponsesPlan,
  events: AsyncIterable<UpstreamEvent>,
  persist: (response: Item) => Promise<void>,
  meter?: (u: TokenUsage) => void,
): AsyncGenerator<string> {
  const b = new ResponseBuilder(plan);
  const sse = (e: ResponsesEvent) => sseEvent(e.type, e);
  for (const e of b.start()) yield sse(e);
  try {
    for await (const e of events) for (const out of b.push(e)) yield sse(out);
    for (const e of b.close()) yield sse(e);
    meter?.(b.metered());
    await persist(b.response());
  } catch (err) {
    yield sse(b.fail(err));
    return;
  }
  yield sse(b.terminal());
}
