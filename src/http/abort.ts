import type { FastifyReply } from 'fastify';

/**
 * An AbortSignal that fires when the client goes away before the response has ended.
 * It listens on the response's `close` event: `request.signal` would fire as soon as a POST body
 * has been read (fastify #6725/#7033), and generator teardown would wait for the next upstream
 * chunk. The signal reaches undici, sleeps and store waits.
 */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
