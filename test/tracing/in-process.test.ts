/**
 * The real app in process with the SDK started (this file's worker only), for what the process
 * test cannot provoke: an unexpected error in a handler is logged ("unhandled error") with the
 * request's trace id, and its request span is an error (500).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { createRuntime, type Runtime } from '../../src/bootstrap.js';
import { loadConfig } from '../../src/config/load.js';
import { startTracing, type Tracing } from '../../src/tracing/tracing.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

let receiver: OtlpReceiver;
let tracing: Tracing | null;
let runtime: Runtime;
let app: FastifyInstance;
let url: string;
const dataDir = mkdtempSync(join(tmpdir(), 'g2a-trace-inproc-'));
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // The SDK reads the standard variables from the process environment (this worker's only).
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  tracing = await startTracing(process.env);
  const config = loadConfig({ env: { DATA_DIR: dataDir }, overrides: { server: { host: '127.0.0.1', port: 0 }, log: { level: 'info' }, token: { sync_on_import: false, auto_refresh: false } } });
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) logs.push(JSON.parse(l));
      cb();
    },
  });
  runtime = await createRuntime(config, { logDestination: sink });
  app = await buildApp(runtime.services);
  // A handler that fails the way a bug would: after an await, with a plain Error.
  app.get('/test/boom', async () => {
    await new Promise((r) => setTimeout(r, 5));
    throw new Error('a bug');
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await app?.close();
  await runtime?.close();
  await tracing?.shutdown();
  await receiver?.close();
  for (const k of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_BSP_SCHEDULE_DELAY']) delete process.env[k];
  rmSync(dataDir, { recursive: true, force: true });
});

it('logs an unexpected error with the request’s trace id, and marks its span an error', async () => {
  const res = await fetch(`${url}/test/boom`);
  expect(res.status).toBe(500);
  await res.text();
  const spans = await receiver.waitFor((all) => all.some((s) => s.name === 'GET /test/boom'));
  const span = spans.find((s) => s.name === 'GET /test/boom')!;
  expect(span.statusCode).toBe(2);
  expect(span.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
  const line = logs.find((l) => l.msg === 'unhandled error');
  expect(line).toMatchObject({ trace_id: span.traceId, span_id: span.spanId });
  expect(logs.find((l) => l.msg === 'request' && l.url === '/test/boom')).toMatchObject({ trace_id: span.traceId });
});
