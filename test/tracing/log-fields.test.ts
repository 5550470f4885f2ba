/**
 * Log lines and spans, in process with the SDK really started (this file's worker only): a line
 * carries the ids of the active span while it is open, nothing once it has ended (a connection or
 * timer made during a request keeps that request's context for later callbacks), and pino's
 * merging of a line's own fields never leaks into the next line.
 */
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { afterAll, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startSpan, startTracing, tracingOn, withSpan, type Tracing } from '../../src/tracing/tracing.js';
import { startOtlpReceiver } from './otlp-receiver.js';

let tracing: Tracing | null = null;
afterAll(async () => {
  await tracing?.shutdown();
});

it('puts the open span’s ids on log lines, and only its', async () => {
  const receiver = await startOtlpReceiver();
  // The exporter reads the standard variables from the process environment.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  try {
    tracing = await startTracing(process.env);
    expect(tracingOn()).toBe(true);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, cb) {
          for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
          cb();
        },
      }),
    );
    const request = trace.getTracer('test').startSpan('request');
    const attempt = withSpan(request, () => startSpan('upstream.attempt', {}))!;
    let stale: () => void = () => {};
    withSpan(request, () => {
      log.info({ step: 1 }, 'in the request');
      withSpan(attempt, () => log.info('in the attempt'));
      // A callback registered now runs later in this context (like a pooled socket's data events).
      stale = context.bind(context.active(), () => log.info('later, from a callback made during the request'));
    });
    log.info('outside');
    attempt.end();
    request.end();
    stale();

    const { traceId } = request.spanContext();
    expect(lines[0]).toMatchObject({ msg: 'in the request', step: 1, trace_id: traceId, span_id: request.spanContext().spanId });
    expect(lines[1]).toMatchObject({ msg: 'in the attempt', trace_id: traceId, span_id: attempt.spanContext().spanId });
    expect(lines[1]).not.toHaveProperty('step');
    expect(lines[2]!.msg).toBe('outside');
    expect(lines[2]).not.toHaveProperty('trace_id');
    expect(lines[3]!.msg).toBe('later, from a callback made during the request');
    expect(lines[3]).not.toHaveProperty('trace_id');

    // The attempt is the request's child in what reaches the collector.
    await tracing!.shutdown();
    tracing = null;
    const spans = receiver.spans();
    expect(spans.find((s) => s.name === 'upstream.attempt')?.parentSpanId).toBe(request.spanContext().spanId);
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
    await receiver.close();
  }
});
