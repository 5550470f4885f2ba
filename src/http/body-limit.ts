import { Transform, type Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

/**
 * security.max_body_mb, counted on the bytes actually read, so `Transfer-Encoding: chunked` (no
 * Content-Length) gets the same 413 as a declared length. Read per request: a changed setting
 * applies to the next request. Fastify's own bodyLimit is only checked at start-up, so it is set
 * out of the way and this hook is the one limit for every parsed body.
 *
 * Multipart bodies are read by busboy straight from the socket stream, past every parser hook;
 * http/multipart.ts counts those with `countRawBytes`.
 */
export function installBodyLimit(app: FastifyInstance, maxBodyMb: () => number): void {
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (isMultipart(req)) return payload;
    const mb = maxBodyMb();
    const limit = mb * 1024 * 1024;
    if (Number(req.headers['content-length']) > limit) throw errors.payloadTooLarge(mb);
    let received = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        // Fastify compares this with Content-Length once the body is complete.
        (counted as Transform & { receivedEncodedLength: number }).receivedEncodedLength = received;
        if (received > limit) done(errors.payloadTooLarge(mb));
        else done(null, chunk);
      },
    });
    payload.pipe(counted);
    return counted;
  });
}

export function isMultipart(req: FastifyRequest): boolean {
  return /^multipart\//i.test(req.headers['content-type'] ?? '');
}

/**
 * Counts what `raw` delivers to the consumer that is already attached (a pipe set up in this
 * tick), and rejects with 413 — after unpiping and pausing `raw`, so nothing more is read —
 * once the count passes `limitBytes`. The returned promise never resolves otherwise.
 */
export function countRawBytes(raw: Readable, limitBytes: number, tooLarge: () => Error): Promise<never> {
  return new Promise<never>((_resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= limitBytes) return;
      raw.off('data', onData);
      raw.unpipe();
      raw.pause();
      reject(tooLarge());
    };
    raw.on('data', onData);
    raw.once('end', () => raw.off('data', onData));
  });
}
