import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

/**
 * A wreq response body as a Node stream, with the idle timeout undici gave us (`bodyTimeout`) and
 * a `release` hook run exactly once — on the end, an error or `destroy()` — so the owner can cut
 * the connection (wreq-js does not stop a body it was told to cancel; see egress-relay.ts).
 */
export function bodyStream(web: ReadableStream<Uint8Array> | null, idleMs: number, release: (complete: boolean) => void): Readable {
  const reader = web?.getReader();
  let timer: NodeJS.Timeout | undefined;
  let released = false;
  const done = (complete: boolean) => {
    clearTimeout(timer);
    if (released) return;
    released = true;
    release(complete);
  };
  const stream = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (!reader) {
        done(true);
        this.push(null);
        return;
      }
      if (idleMs > 0) {
        clearTimeout(timer);
        timer = setTimeout(() => stream.destroy(Object.assign(new Error(`no data from grok.com for ${idleMs} ms`), { code: 'UND_ERR_BODY_TIMEOUT' })), idleMs);
      }
      reader.read().then(
        ({ done: end, value }) => {
          clearTimeout(timer);
          if (stream.destroyed) return;
          if (end) {
            done(true);
            stream.push(null);
          } else stream.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        },
        (e: unknown) => stream.destroy(networkError(e)),
      );
    },
    destroy(err, cb) {
      done(false);
      reader?.cancel().catch(() => {});
      cb(err);
    },
  });
  return stream;
}

/** A wreq/native error as the `code`-carrying error the classifier understands. */
export function networkError(e: unknown): Error {
  if (e instanceof Error && (e.name === 'AbortError' || typeof (e as { code?: unknown }).code === 'string')) return e;
  const message = e instanceof Error ? e.message : String(e);
  const code = /refused/i.test(message)
    ? 'ECONNREFUSED'
    : /timed? ?out/i.test(message)
      ? 'ETIMEDOUT'
      : /dns|resolve|lookup|name or service/i.test(message)
        ? 'ENOTFOUND'
        : /certificate|CERTIFICATE_VERIFY|handshake|tls|ssl/i.test(message)
          ? 'UPSTREAM_TLS'
          : 'ECONNRESET';
  return Object.assign(new Error(message), { code });
}
