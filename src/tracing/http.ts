/**
 * The request side of tracing, installed only when tracing is on (app.ts imports this module
 * dynamically then): a SERVER span per request, continuing an incoming W3C `traceparent`, made
 * the active span for the route handler (so the pool's lease and attempt spans are its children
 * and log lines carry its ids), a `first_byte` event when the first body byte is written, and
 * the route, method, status, model, client key id and name, provider and account on it when the
 * answer is finished (or the client left). Never the key, the prompt or the answer.
 */
import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { clientKeyOf } from '../http/auth.js';
import { onFirstByte } from '../http/first-byte.js';
import { providerOfAccount } from '../metrics/registry.js';
import { requestNote } from '../stats/request-meta.js';
import { ATTR, startServerSpan } from './tracing.js';

interface RequestTrace {
  span: Span;
  ctx: Context;
  ended: boolean;
}
const traces = new WeakMap<FastifyRequest, RequestTrace>();

/** Probes and scrapes, every few seconds, tell nothing about requests: not traced. */
const UNTRACED = new Set(['/health', '/ready', '/metrics']);

/** The model the client asked for (a name, never content), cut short. */
function modelOf(req: FastifyRequest): string | undefined {
  const model = (req.body as { model?: unknown } | undefined)?.model;
  return typeof model === 'string' ? model.slice(0, 100) : undefined;
}

function finish(req: FastifyRequest, reply: FastifyReply, t: RequestTrace, aborted: boolean): void {
  if (t.ended) return;
  t.ended = true;
  const { span } = t;
  const status = reply.raw.statusCode;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  const model = modelOf(req);
  if (model !== undefined) span.setAttribute(ATTR.model, model);
  const key = clientKeyOf(req);
  if (key) span.setAttributes({ [ATTR.keyId]: key.id ?? 'API_KEY', [ATTR.keyName]: key.name });
  const accountId = requestNote(req)?.accountId;
  if (accountId !== undefined) span.setAttributes({ [ATTR.account]: accountId, [ATTR.provider]: providerOfAccount(accountId) });
  if (aborted) span.setAttribute('grok2api.client_aborted', true);
  // Server spans: 5xx is an error, 4xx is the client's (HTTP semantic conventions).
  if (status >= 500) {
    span.setAttribute(ATTR_ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

export function installTracingHooks(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    const route = req.routeOptions.url;
    if (route !== undefined && UNTRACED.has(route)) return done();
    // An incoming `traceparent` (and `tracestate`) makes this span its child.
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = startServerSpan(
      route ? `${req.method} ${route}` : req.method,
      {
        [ATTR_HTTP_REQUEST_METHOD]: req.method,
        [ATTR_URL_PATH]: req.url.split('?')[0]!,
        [ATTR_URL_SCHEME]: req.protocol,
        [ATTR_CLIENT_ADDRESS]: req.ip,
        ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}),
        ...(req.headers['user-agent'] ? { [ATTR_USER_AGENT_ORIGINAL]: req.headers['user-agent'] } : {}),
      },
      parent,
    );
    const t: RequestTrace = { span, ctx: trace.setSpan(parent, span), ended: false };
    traces.set(req, t);
    const raw = reply.raw;
    onFirstByte(raw, () => {
      if (!t.ended) span.addEvent('first_byte');
    });
    // A client that leaves mid-answer: no onResponse; the span still ends.
    raw.once('close', () => finish(req, reply, t, !raw.writableFinished));
    context.with(t.ctx, done);
  });

  // The handler runs with the request's span active: body parsing ran on the socket's own
  // async context, so the span is set again here, around the handler itself.
  app.addHook('onRoute', (route) => {
    const handler = route.handler as RouteHandlerMethod;
    route.handler = function (this: FastifyInstance, req, reply) {
      const t = traces.get(req);
      return t ? context.with(t.ctx, () => handler.call(this, req, reply)) : handler.call(this, req, reply);
    } as RouteHandlerMethod;
  });

  // The hooks after this one (the request log line) run with the span active and still open
  // (their synchronous part: the log line is written at once); then it ends.
  app.addHook('onResponse', (req, reply, done) => {
    const t = traces.get(req);
    if (!t) return done();
    context.with(t.ctx, done);
    finish(req, reply, t, false);
  });
}
