import { pipeline, type Readable } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { constants as zlib, createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, buildConnector, ProxyAgent, Socks5ProxyAgent, type Dispatcher } from 'undici';
import type { Config } from '../config/schema.js';

/**
 * The undici side of upstream HTTP: a shared dispatcher with keep-alive and explicit timeouts,
 * optionally through the configured egress proxy. grok.com traffic uses it only in the
 * `grok.http_client = "undici"` fallback (upstream/grok/transport/). Requests additionally pass
 * `headersTimeout`/`bodyTimeout` themselves (see `upstreamTimeouts`), because not every proxy
 * agent forwards its options to the per-origin pools it creates.
 */

export interface UpstreamTimeouts {
  connectMs: number;
  /** Request sent → response headers (and, for streams, the first answer frame). */
  firstByteMs: number;
  /** Longest silence between two pieces of the body. */
  idleMs: number;
}

export function upstreamTimeouts(config: Config): UpstreamTimeouts {
  const t = config.timeout;
  return { connectMs: t.connect_sec * 1000, firstByteMs: t.first_byte_sec * 1000, idleMs: t.idle_sec * 1000 };
}

/**
 * Creates the shared dispatcher. Throws at start-up for a proxy URL undici cannot use.
 * `socks5h://` is accepted as `socks5://`: undici's SOCKS5 agent always hands the host name to
 * the proxy (remote DNS), which is what the `h` asks for.
 */
export function createDispatcher(config: Config, ca?: string[]): Dispatcher {
  const t = upstreamTimeouts(config);
  // One secure context for every connection: given `ca` instead, Node builds a context per
  // connection, parsing the ~150 root certificates each time (a few ms of CPU per TLS connection).
  const tls = ca ? { secureContext: createSecureContext({ ca }) } : {};
  const common = {
    connectTimeout: t.connectMs,
    headersTimeout: t.firstByteMs,
    bodyTimeout: t.idleMs,
    // grok.com streams are long; keep sockets warm between turns instead of paying a TLS handshake each time.
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
  };
  const proxy = config.grok.proxy_url.trim();
  if (!proxy) return new Agent({ ...common, connect: { timeout: t.connectMs, ...tls } });
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    throw new Error('grok.proxy_url is not a valid URL; use http://host:port, https://host:port or socks5://host:port');
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return new ProxyAgent({ ...common, uri: url.href, proxyTls: { timeout: t.connectMs }, requestTls: { timeout: t.connectMs, ...tls } });
  }
  if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') {
    if (url.protocol === 'socks5h:') url = new URL(`socks5:${url.href.slice('socks5h:'.length)}`);
    // `connect` is the connector used to reach the proxy itself; a plain one keeps the hop unencrypted
    // (passing `proxyTls` would switch the agent to TLS towards the proxy).
    return new Socks5ProxyAgent(url.href, { ...common, connect: buildConnector({ timeout: t.connectMs }) });
  }
  throw new Error(`grok.proxy_url uses the unsupported scheme '${url.protocol}'; use http://, https:// or socks5://`);
}

/** Closes the dispatcher, giving in-flight requests `graceMs` before their sockets are destroyed. */
export async function closeDispatcher(dispatcher: Dispatcher, graceMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const result = await Promise.race([dispatcher.close().then(() => 'closed' as const), grace]);
  clearTimeout(timer);
  if (result === 'timeout') await dispatcher.destroy();
}

/**
 * The encodings we ask for. undici's `request()` does not decompress, so we only advertise what
 * `decodeBody` can undo with Node 20's zlib; `zstd` (sent by real Chrome) is left out because
 * `zlib.createZstdDecompress` only exists from Node 22.15.
 */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/**
 * Wraps a response body in the decoder its `Content-Encoding` asks for. Decoders flush on every
 * input chunk (SYNC_FLUSH semantics), so streamed NDJSON frames come out as soon as they arrive.
 * Destroying the returned stream destroys the body too (and vice versa).
 */
export function decodeBody(body: Readable, contentEncoding: string | string[] | undefined): Readable {
  const enc = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : (contentEncoding ?? '')).trim().toLowerCase();
  if (!enc || enc === 'identity') return body;
  let decoder: Readable & NodeJS.WritableStream;
  if (enc === 'gzip' || enc === 'x-gzip') decoder = createGunzip({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH });
  else if (enc === 'deflate') decoder = createInflate({ flush: zlib.Z_SYNC_FLUSH, finishFlush: zlib.Z_SYNC_FLUSH });
  else if (enc === 'br') decoder = createBrotliDecompress({ flush: zlib.BROTLI_OPERATION_FLUSH, finishFlush: zlib.BROTLI_OPERATION_FLUSH });
  else {
    body.destroy();
    throw Object.assign(new Error(`unsupported Content-Encoding '${enc}'`), { code: 'UPSTREAM_BAD_ENCODING' });
  }
  // pipeline() propagates errors and premature closes both ways; the callback only swallows the
  // rejection, since the consumer sees the same error on the decoder stream.
  return pipeline(body, decoder, () => {}) as unknown as Readable;
}

/** Reads at most `limit` bytes of a (decoded) body as UTF-8, then destroys the stream. Never throws. */
export async function readBounded(stream: Readable, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      chunks.push(b);
      total += b.length;
      if (total >= limit) break;
    }
  } catch {
    // A broken error body still classifies by its status.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total).subarray(0, limit).toString('utf8');
}
