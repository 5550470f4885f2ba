import type { UpstreamEvent } from '../core/events.js';
import type { ToolCall } from '../core/intent.js';
import { toAppError } from '../errors.js';
import { sseData } from '../http/sse.js';
import { randomId } from '../lib/ids.js';
import { GrowingText } from '../lib/rope.js';
import { addCitation, annotations, openAiToolCall, reportedOf, usage, type Citation, type ReportedUsage } from './chat-collect.js';
import type { ChatPlan } from './chat-completions.js';

/** Interleaves several event streams, tagging each event with its source; `e` undefined = that source ended. */
export async function* mergeIndexed<T>(sources: readonly AsyncIterable<T>[]): AsyncGenerator<{ i: number; e?: T }> {
  if (sources.length === 1) {
    // The common case (n = 1): no racing, no per-event promise bookkeeping.
    for await (const e of sources[0]!) yield { i: 0, e };
    yield { i: 0 };
    return;
  }
  const its = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const pull = (i: number) => {
    const p = its[i]!.next().then((r) => ({ i, r }));
    p.catch(() => {}); // a source failing while another is being awaited is not unhandled
    pending.set(i, p);
  };
  its.forEach((_, i) => pull(i));
  try {
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        yield { i };
        continue;
      }
      pull(i);
      yield { i, e: r.value };
    }
  } finally {
    // Closing the others (error or client gone) must not wait for them: fire and forget.
    for (const i of pending.keys()) void Promise.resolve(its[i]!.return?.()).catch(() => {});
  }
}

interface ChoiceState {
  text: GrowingText;
  reasoning: GrowingText;
  thinkOpen: boolean;
  citations: Citation[];
  calls: ToolCall[];
  roleSent: boolean;
  reason: 'stop' | 'length' | 'tool_calls';
  reported?: ReportedUsage;
}

/**
 * Maps generations to `chat.completion.chunk` SSE events: per choice a role chunk, reasoning and
 * content deltas, one delta per tool call (index, id, type, function), a finish chunk; then the
 * usage chunk when asked for, and `[DONE]`. With n > 1 the choices interleave, each chunk
 * carrying its `index`. With client tools the role chunk waits for the first output so an answer
 * that is only calls starts with `content: null`. A failure after the first byte becomes a final
 * `data: {"error": …}` event followed by `[DONE]`, so no client hangs.
 */
export async function* streamChat(
  plan: ChatPlan,
  sources: AsyncIterable<UpstreamEvent> | readonly AsyncIterable<UpstreamEvent>[],
  meter?: ChoiceMeter,
): AsyncGenerator<string> {
  const list = Array.isArray(sources) ? (sources as readonly AsyncIterable<UpstreamEvent>[]) : [sources as AsyncIterable<UpstreamEvent>];
  const id = randomId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const model = plan.intent.model.id;
  const withUsage = plan.includeUsage;
  const chunk = (index: number, delta: Record<string, unknown>, finish: string | null = null) => {
    const c: Record<string, unknown> = { id, object: 'chat.completion.chunk', created, model, choices: [{ index, delta, logprobs: null, finish_reason: finish }] };
    if (withUsage) c.usage = null;
    return sseData(c);
  };
  // Text and reasoning deltas are most of a stream: their envelope is serialised once and only
  // the fragment is stringified per event (same bytes as `chunk`, key order included).
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[{"index":`;
  const tail = `},"logprobs":null,"finish_reason":null}]${withUsage ? ',"usage":null' : ''}}\n\n`;
  const textChunk = (index: number, key: 'content' | 'reasoning_content', text: string) => `${head}${index},"delta":{"${key}":${JSON.stringify(text)}${tail}`;
  const thinkTags = plan.reasoningFormat === 'think_tags';
  const deferRole = !!plan.intent.tools?.length;
  const states: ChoiceState[] = list.map(() => ({ text: new GrowingText(), reasoning: new GrowingText(), thinkOpen: false, citations: [], calls: [], roleSent: false, reason: 'stop' }));
  /** Adds the role to a choice's first delta. */
  const first = (st: ChoiceState, delta: Record<string, unknown>) => {
    if (st.roleSent) return delta;
    st.roleSent = true;
    return { role: 'assistant', ...delta };
  };
  if (!deferRole) {
    for (let i = 0; i < states.length; i++) {
      states[i]!.roleSent = true;
      yield chunk(i, { role: 'assistant', content: '' });
    }
  }
  try {
    for await (const { i, e } of mergeIndexed(list)) {
      const st = states[i]!;
      if (!e) {
        const ann = annotations(st.text.text, st.citations);
        yield chunk(i, first(st, ann.length ? { annotations: ann } : st.roleSent ? {} : { content: '' }), st.reason);
      } else if (e.type === 'reasoning') {
        st.reasoning.add(e.text);
        if (!plan.intent.thinking || st.text.text || st.calls.length) continue; // reasoning after the answer started is not streamed
        if (thinkTags) {
          yield chunk(i, first(st, { content: (st.thinkOpen ? '' : '<think>\n') + e.text }));
          st.thinkOpen = true;
        } else {
          yield st.roleSent ? textChunk(i, 'reasoning_content', e.text) : chunk(i, first(st, { reasoning_content: e.text }));
        }
      } else if (e.type === 'text') {
        if (!e.text) continue;
        const prefix = st.thinkOpen && !st.text.text ? '\n</think>\n' : '';
        st.text.add(e.text);
        yield st.roleSent ? textChunk(i, 'content', prefix + e.text) : chunk(i, first(st, { content: prefix + e.text }));
      } else if (e.type === 'tool_call') {
        if (plan.singleToolCall && st.calls.length) continue;
        const index = st.calls.length;
        st.calls.push(e.call);
        const delta = { tool_calls: [{ index, ...openAiToolCall(e.call) }] };
        yield chunk(i, st.roleSent ? delta : first(st, { content: null, ...delta }));
      } else if (e.type === 'citation') {
        addCitation(st.citations, e);
      } else if (e.type === 'done' && e.reason) {
        st.reason = e.reason;
      } else if (e.type === 'usage') {
        st.reported = reportedOf(e);
      }
    }
  } catch (err) {
    yield sseData(toAppError(err).toBody());
    yield sseData('[DONE]');
    return;
  }
  const turns = states.map((s) => ({ text: s.text.text, reasoning: s.reasoning.text, toolCalls: s.calls, reported: s.reported }));
  // Each generation's counts as a body would give them (prompt read once per generation).
  turns.forEach((t, i) => {
    const u = usage(plan, [t]);
    meter?.(i, { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, estimated: !t.reported });
  });
  if (withUsage) yield sseData({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usage(plan, turns) });
  yield sseData('[DONE]');
}

/**
 * Told, once a stream ended whole, each choice's token counts as the client's `usage` has them:
 * the provider's report, or the server's estimate (`estimated`) when the upstream sent none.
 */
export type ChoiceMeter = (index: number, usage: { promptTokens: number; completionTokens: number; estimated: boolean }) => void;
