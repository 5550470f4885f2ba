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
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      pending ??= it.next();
      const tick = new Promise<'tick'>((resolve) => {
        timer = setTimeout(resolve, intervalMs, 'tick');
      });
      const r = await Promise.race([pending, tick]);
      clearTimeout(timer);
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

/** Sends an SSE response whose body is pulled from `events`, so backpressure reaches the upstream. */
export function sendSse(reply: FastifyReply, events: AsyncIterable<string>, keepaliveMs: number): FastifyReply {
  reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('connection', 'keep-alive')
    .header('x-accel-buffering', 'no');
  return reply.send(Readable.from(withKeepalive(events, keepaliveMs), { objectMode: false }));
}
