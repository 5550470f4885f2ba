/**
 * OpenTelemetry tracing, off unless the standard OTLP endpoint variable is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). Only
 * `@opentelemetry/api` is imported here; the SDK and the exporter (./sdk.ts) and the request hooks
 * (./http.ts) are loaded with a dynamic import when tracing is on, so a server without the
 * variable loads none of them, and every helper below returns at its first line.
 *
 * Spans (see docs/tracing.md): one server span per request, children `pool.lease` (the wait for
 * a slot, the account and provider) and `upstream.attempt` (provider, transport, failure class,
 * retry number), events `first_byte` (the client's first body byte) and `upstream.first_event`
 * (the upstream primed). Never a key, a token, a prompt or an answer.
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

export type { Span } from '@opentelemetry/api';

/** Our own attribute names (no semantic convention covers them). */
export const ATTR = {
  model: 'grok2api.model',
  keyId: 'grok2api.client_key.id',
  keyName: 'grok2api.client_key.name',
  provider: 'grok2api.provider',
  account: 'grok2api.account.id',
  mode: 'grok2api.mode',
  queueWaitMs: 'grok2api.lease.queue_wait_ms',
  queueResult: 'grok2api.lease.queue_result',
  leaseResult: 'grok2api.lease.result',
  transport: 'grok2api.upstream.transport',
  retryNumber: 'grok2api.upstream.retry_number',
  retryKind: 'grok2api.upstream.retry_reason',
  failureClass: 'grok2api.upstream.failure_class',
  upstreamStatus: 'grok2api.upstream.status',
  outcome: 'grok2api.upstream.outcome',
} as const;

let enabled = false;

/** Whether this process exports spans (the SDK is loaded and registered). */
export const tracingOn = (): boolean => enabled;

type Env = Record<string, string | undefined>;

/** Tracing is asked for by the standard variables: an OTLP endpoint, and not switched off. */
export function tracingRequested(env: Env = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  if ((env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

export interface Tracing {
  /** Exports what is buffered and stops (at shutdown). */
  shutdown(): Promise<void>;
}

/**
 * Loads and registers the SDK when the environment asks for tracing (null otherwise: nothing is
 * loaded). Called once per server process, so with SERVER_WORKERS each worker exports its own.
 */
export async function startTracing(env: Env = process.env): Promise<Tracing | null> {
  if (enabled || !tracingRequested(env)) return null;
  const { startSdk } = await import('./sdk.js');
  const sdk = startSdk(env);
  enabled = true;
  return {
    async shutdown() {
      enabled = false;
      await sdk.shutdown();
    },
  };
}

const tracer = () => trace.getTracer('grok2api');

/** A child of the active span (the request's), or undefined when tracing is off. */
export function startSpan(name: string, attributes: Attributes): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes });
}

/** Starts a server span for a request, as a child of `parent` (an extracted `traceparent`). */
export function startServerSpan(name: string, attributes: Attributes, parent = context.active()): Span {
  return tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/** Runs `fn` with `span` as the active span (its children and log lines see it); `fn` alone when there is none. */
export function withSpan<T>(span: Span | undefined, fn: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}

/** Sets attributes on the active span (e.g. the transport an upstream picked for the attempt). */
export function noteOnActiveSpan(attributes: Attributes): void {
  if (!enabled) return;
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** Adds a (content-free) event to the active span. */
export function eventOnActiveSpan(name: string, attributes?: Attributes): void {
  if (!enabled) return;
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Ends a span as failed with a short, content-free description (an error code, never a message with user text). */
export function endFailed(span: Span | undefined, description: string, attributes?: Attributes): void {
  if (!span) return;
  if (attributes) span.setAttributes(attributes);
  span.setStatus({ code: SpanStatusCode.ERROR, message: description });
  span.end();
}

/**
 * The trace and span id of the active span, for log lines (pino mixin); nothing when there is
 * none, or when it has ended (or was not sampled): a connection or timer first made during some
 * request keeps that request's context for its later callbacks, and their lines must not claim it.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  // A new object every time: pino merges the line's own fields into it.
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return {};
  const ctx = span.spanContext();
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}
