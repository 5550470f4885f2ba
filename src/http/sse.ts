import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/** One whole SSE event: `data: <json>` plus the blank line, written in one piece. */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

/** An SSE event with an `event:` line (Responses and Anthropic streams). */
export function sseEvent(name: string, payload: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_KEEPALIVE = ': keepalive\n\n';

const TICK = Symbol('keepalive');
const FLUSH = Symbol('flush');
type Wake = typeof TICK | typeof FLUSH;

/**
 * The body of an SSE response, from a stream of whole events:
 * - events that are ready at once (a burst of upstream tokens arrives in one TCP read) are joined
 *   into one string, so a burst costs one socket write instead of one per event. An event is
 *   never held back waiting for another: the batch is cut as soon as the event loop would move
 *   on (setImmediate), or at `maxChars`; the very first event is written alone, at once;
 * - a `: keepalive` comment goes out whenever the source has been silent for `keepaliveMs`.
 * The pending `next()` is kept across wake-ups, so nothing is lost or reordered. One generator
 * with one timer and one promise per event: layering a keepalive generator and a batching one
 * (with a race per event) was a measurable share of a streamed answer's CPU (bench/README.md).
 */
export async function* sseBody(source: AsyncIterable<string>, keepaliveMs: number, maxChars = 64 * 1024): AsyncGenerator<string> {
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<string>> | null = null;
  let wake: ((v: IteratorResult<string> | Wake) => void) | null = null;
  let flushArmed = false;
  // While the consumer holds us at a `yield` nobody listens: try again later rather than never.
  const timer = setTimeout(() => (wake ? wake(TICK) : timer.refresh()), keepaliveMs);
  const flushSoon = () => {
    flushArmed = false;
    wake?.(FLUSH);
  };
  let batch = '';
  let first = true;
  try {
    for (;;) {
      pending ??= it.next();
      const p = pending;
      let r: IteratorResult<string> | Wake;
      try {
        r = await new Promise<IteratorResult<string> | Wake>((resolve, reject) => {
          wake = resolve;
          p.then(resolve, reject);
        });
      } catch (e) {
        // What the source produced before failing still goes out, then the failure.
        if (batch) yield batch;
        batch = '';
        throw e;
      }
      wake = null;
      if (r === FLUSH || r === TICK) {
        if (batch) {
          const out = batch;
          batch = '';
          yield out;
        }
        if (r === TICK) {
          timer.refresh();
          yield SSE_KEEPALIVE;
        }
        continue;
      }
      pending = null;
      timer.refresh();
      if (r.done) break;
      batch += r.value;
      if (first) {
        // The first event (the role chunk, or the start of the answer) goes out on its own, and
        // we step out of the microtask queue before reading on: Node corks a response's first
        // write until the next tick, and a burst being translated would otherwise hold it back.
        first = false;
        const out = batch;
        batch = '';
        yield out;
        await new Promise((resolve) => setImmediate(resolve));
      } else if (batch.length >= maxChars) {
        const out = batch;
        batch = '';
        yield out;
      } else if (!flushArmed) {
        flushArmed = true;
        setImmediate(flushSoon);
      }
    }
    if (batch) yield batch;
  } finally {
    clearTimeout(timer);
    // Runs when the client went away too: lets the source release the upstream at once.
    await it.return?.();
  }
}

/** Sends an SSE response whose body is pulled from `events`, so backpressure reaches the upstream. */
export function sendSse(reply: FastifyReply, events: AsyncIterable<string>, keepaliveMs: number): FastifyReply {
  reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('connection', 'keep-alive')
    .header('x-accel-buffering', 'no');
  return reply.send(Readable.from(sseBody(events, keepaliveMs), { objectMode: false }));
}
