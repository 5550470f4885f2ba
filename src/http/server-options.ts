import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyHttpOptions, FastifyServerOptions } from 'fastify';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { TrustProxy } from './trust-proxy.js';

/**
 * The HTTP server's own protections, from `[server]`:
 * - `trust_proxy`: whose X-Forwarded-For/-Proto to believe (nobody by default), which decides
 *   `req.ip` (the login throttle's key) and `req.protocol` (the admin cookie's Secure flag);
 * - `request_timeout_sec`: Node's requestTimeout, the time to receive a whole request, headers and
 *   body. Node stops counting once the request is complete, so a long streamed answer is not cut.
 *   Node checks it every connectionsCheckingInterval (30 s by default): checked more often here so
 *   a timeout is enforced within a second of its due time.
 * Body size is not here: http/body-limit.ts counts it per request from the current settings.
 */
export function serverOptions(config: Config): FastifyHttpOptions<Server> {
  const requestTimeout = Math.round(config.server.request_timeout_sec * 1000);
  return {
    trustProxy: fastifyTrustProxy(config.server.trust_proxy),
    // Out of the way: http/body-limit.ts enforces security.max_body_mb on every body as it is read.
    bodyLimit: Number.MAX_SAFE_INTEGER,
    requestTimeout,
    http: {
      requestTimeout,
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 4))),
    },
    clientErrorHandler,
  };
}

/**
 * A hop count becomes proxy-addr's "the first n hops are proxies" function (Fastify 5 reads a bare
 * number as trust-nobody). It trusts whoever connects, so it fits only a server that cannot be
 * reached except through its proxies; a list of addresses holds even when it can.
 */
function fastifyTrustProxy(trust: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (typeof trust !== 'number') return trust;
  return (_address: string, hop: number) => hop < trust;
}

/**
 * Errors Node raises before a request reaches Fastify (request timeout, header overflow,
 * unparsable HTTP), answered in the OpenAI envelope when nothing has been sent yet, then the
 * connection is closed.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (socket.writable && !started) {
    const e =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError(408, 'invalid_request_error', 'request_timeout', 'The request was not received in time (server.request_timeout_sec); send the whole request, headers and body, without pausing.')
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? new AppError(431, 'invalid_request_error', 'headers_too_large', 'The request headers are too large.')
          : new AppError(400, 'invalid_request_error', 'invalid_request', 'The HTTP request could not be parsed.');
    const body = JSON.stringify(e.toBody());
    socket.write(`HTTP/1.1 ${e.status} ${statusText(e.status)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

function statusText(status: number): string {
  return status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
}
