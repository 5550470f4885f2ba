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

/**
 * Interleaves `: keepalive` comments into a stream of SSE events whenever the source has been
 * silent for `intervalMs`. The pending `next()` is kept across keepalives, so no event is lost
 * or reordered.
 */
export async function* withKeepalive(source: AsyncIterable<string>, intervalMs: number): AsyncGenerator<string> {
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<string>> | null = null;
  let wake: ((v: 'tick') => void) | null = null;
  // One timer per stream, re-armed with refresh(): creating a timer and a race per event was a
  // measurable share of a streamed answer's CPU (bench/README.md).
  const timer = setTimeout(() => wake?.('tick'), intervalMs);
  try {
    for (;;) {
      pending ??= it.next();
      const p = pending;
      const r = await new Promise<IteratorResult<string> | 'tick'>((resolve, reject) => {
        wake = resolve;
        p.then(resolve, reject);
      });
      wake = null;
      timer.refresh();
      if (r === 'tick') {
        yield SSE_KEEPALIVE;
        continue;
      }
      pending = null;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    clearTimeout(timer);
    // Runs when the client went away too: lets the source release the upstream at once.
    await it.return?.();
  }
}

/**
 * Joins the events that are ready at once (a burst of upstream tokens arrives in one TCP read)
 * into one string, so a burst costs one socket write instead of one per event. An event is
 * never held back waiting for another: the batch is cut as soon as the event loop would move
 * on (setImmediate), or at `maxChars`.
 */
export async function* coalesce(source: AsyncIterable<string>, maxChars = 64 * 1024): AsyncGenerator<string> {
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<string>> | null = null;
  try {
    for (;;) {
      const first = await (pending ?? it.next());
      pending = null;
      if (first.done) return;
      let batch = first.value;
      let ended = false;
      const flush = new Promise<'flush'>((resolve) => setImmediate(resolve, 'flush'));
      while (batch.length < maxChars) {
        pending = it.next();
        const r = await Promise.race([pending, flush]);
        if (r === 'flush') break; // `pending` opens the next batch
        pending = null;
        if (r.done) {
          ended = true;
          break;
        }
        batch += r.value;
      }
      yield batch;
      if (ended) return;
    }
  } finally {
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
  return reply.send(Readable.from(coalesce(withKeepalive(events, keepaliveMs)), { objectMode: false }));
}
