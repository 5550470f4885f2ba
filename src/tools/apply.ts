import { nativeFeatures, type UpstreamEvent } from '../core/events.js';
import type { ChatIntent } from '../core/intent.js';
import { cutAtStop, limitTokens } from './limits.js';
import { ToolSieve } from './sieve.js';

/** Whether the client's tools are offered to the model (and its answer parsed for calls). */
export function toolsActive(intent: Pick<ChatIntent, 'tools' | 'toolChoice'>): boolean {
  return !!intent.tools?.length && intent.toolChoice !== 'none';
}

/** Names a call may use: the forced one for a named `tool_choice`, else every declared tool. */
export function allowedToolNames(intent: Pick<ChatIntent, 'tools' | 'toolChoice'>): Set<string> {
  const choice = intent.toolChoice;
  if (choice && typeof choice === 'object') return new Set([choice.name]);
  return new Set((intent.tools ?? []).map((t) => t.name));
}

/**
 * Tool-call parsing: text → text + `tool_call` events; `done.reason` becomes `tool_calls` when
 * calls were found (even after a `length` cut, since every emitted call is complete).
 */
export async function* parseToolCalls(events: AsyncIterable<UpstreamEvent>, declared: ReadonlySet<string>): AsyncGenerator<UpstreamEvent> {
  const sieve = new ToolSieve(declared);
  let done: UpstreamEvent | null = null;
  for await (const e of events) {
    if (e.type === 'text') yield* sieve.push(e.text);
    else if (e.type === 'done') done = e;
    else yield e;
  }
  yield* sieve.end(done?.type === 'done' && done.reason === 'length');
  if (sieve.hasCalls) yield { type: 'done', reason: 'tool_calls' };
  else if (done) yield done;
}

/**
 * The emulated stages every route applies right after `openChat`, in this order:
 * max tokens on the raw answer (the generation budget covers call markup too), then tool-call
 * parsing, then stop sequences on the visible text (so a stop like "\n" cannot break a call).
 * A stage that cuts returns early, which closes the upstream through its iterator's `return()`.
 */
export function applyIntentStages(events: AsyncIterable<UpstreamEvent>, intent: ChatIntent): AsyncIterable<UpstreamEvent> {
  let out = events;
  // An upstream that does tools or the token limit itself (the xAI API) needs no emulation of them.
  const native = nativeFeatures(events);
  const { maxTokens, stop } = intent.limits ?? {};
  if (maxTokens !== undefined && !native.maxTokens) out = limitTokens(out, maxTokens);
  if (toolsActive(intent) && !native.tools) out = parseToolCalls(out, allowedToolNames(intent));
  if (stop?.length) out = cutAtStop(out, stop);
  return out;
}
