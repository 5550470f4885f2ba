import type { UpstreamEvent } from '../core/events.js';
import { countTokens, headTokens } from '../lib/tokenizer.js';

/**
 * Emulated output limits (docs/api-contract.md §4.3). Both stages return early when they cut, which makes the
 * `for await` call the upstream iterable's `return()`: the upstream request is closed, the model
 * stops generating for nothing.
 */

/** Last position in `s` where a BPE pre-token starts with a space (a space after a non-space). */
function lastBoundary(s: string): number {
  for (let i = s.length - 1; i > 0; i--) if (s[i] === ' ' && !/\s/.test(s[i - 1]!)) return i;
  return 0;
}

/**
 * `max_tokens`: counts the answer text (tool-call markup included, as OpenAI counts call
 * tokens; reasoning is not counted, so a thinking model cannot spend the budget invisibly) and
 * cuts at the budget with `done.reason: 'length'`. Counting each fragment alone would overcount
 * (a fragment ending in a space costs an extra token), so the text is counted as a whole: the
 * part before the last word boundary is settled once, only the open tail is re-counted.
 */
export async function* limitTokens(events: AsyncIterable<UpstreamEvent>, maxTokens: number): AsyncGenerator<UpstreamEvent> {
  let settled = 0;
  let tail = '';
  for await (const e of events) {
    if (e.type !== 'text') {
      yield e;
      continue;
    }
    const before = { settled, tail };
    tail += e.text;
    const at = lastBoundary(tail);
    if (at > 0) {
      settled += countTokens(tail.slice(0, at));
      tail = tail.slice(at);
    }
    if (settled + countTokens(tail) <= maxTokens) {
      yield e;
      continue;
    }
    const fits = headTokens(before.tail + e.text, maxTokens - before.settled);
    if (fits.length > before.tail.length) yield { type: 'text', text: fits.slice(before.tail.length) };
    yield { type: 'done', reason: 'length' };
    return;
  }
}

/**
 * `stop`: the visible text is cut before the first stop sequence (`done.reason: 'stop'`). Only
 * the last `longest - 1` characters are held back, since a sequence may span two fragments.
 */
export async function* cutAtStop(events: AsyncIterable<UpstreamEvent>, stops: readonly string[]): AsyncGenerator<UpstreamEvent> {
  const list = stops.filter((s) => s.length > 0);
  const keep = Math.max(0, ...list.map((s) => s.length)) - 1;
  let buf = '';
  for await (const e of events) {
    if (e.type !== 'text') {
      if (buf && (e.type === 'done' || e.type === 'tool_call')) {
        yield { type: 'text', text: buf };
        buf = '';
      }
      yield e;
      continue;
    }
    buf += e.text;
    let at = -1;
    let matched = '';
    for (const s of list) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        matched = s;
      }
    }
    if (at >= 0) {
      if (at > 0) yield { type: 'text', text: buf.slice(0, at) };
      // Anthropic reports which sequence ended the turn (`stop_sequence`); OpenAI ignores it.
      yield { type: 'done', reason: 'stop', stopSequence: matched };
      return;
    }
    if (buf.length > keep) {
      yield { type: 'text', text: buf.slice(0, buf.length - keep) };
      buf = buf.slice(buf.length - keep);
    }
  }
  if (buf) yield { type: 'text', text: buf };
}
