import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Fires when the shutdown grace period is over: running streams end in-band, then sockets close. */
    streamCutoff: AbortController;
  }
}

/** Installs the app's stream cutoff; server.ts fires it when `server.shutdown_grace_sec` runs out. */
export function installStreamCutoff(app: FastifyInstance): void {
  app.decorate('streamCutoff', new AbortController());
}

export function shuttingDownError(): AppError {
  return new AppError(503, 'server_error', 'server_shutting_down', 'The server is shutting down and its grace period for running answers ran out. Retry the request; another instance (or this one, restarted) will answer it.');
}

/**
 * Passes `source` through until `signal` fires, then fails with `server_shutting_down`, so the
 * stream's translator ends it the way it ends any failure after the first byte (chat: an error
 * event and `[DONE]`; Responses: `response.failed`; Messages: an `error` event) instead of the
 * socket being cut mid-answer. One promise per event, no race: a `Promise.race` against a promise
 * that never settles would pile up one reaction per event for the life of the stream.
 */
export async function* endOnCutoff<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let fail: ((err: unknown) => void) | null = null;
  let reading = false;
  const onCutoff = () => fail?.(shuttingDownError());
  signal.addEventListener('abort', onCutoff, { once: true });
  try {
    for (;;) {
      // Fired while the consumer held us at a `yield` (nobody was waiting): end now.
      if (signal.aborted) throw shuttingDownError();
      reading = true;
      const p = it.next();
      const r = await new Promise<IteratorResult<T>>((resolve, reject) => {
        fail = reject;
        p.then(resolve, reject);
      });
      fail = null;
      reading = false;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    signal.removeEventListener('abort', onCutoff);
    // Cut off mid-read: a generator's return() waits for its pending next(), which may be an
    // upstream read that only ends when the process closes the connection, so it is not awaited.
    // Otherwise (the client went away, or the end) the source is released before we return.
    if (reading) void Promise.resolve(it.return?.()).catch(() => {});
    else await it.return?.();
  }
}
