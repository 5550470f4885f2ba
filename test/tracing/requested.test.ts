/** When the standard OTEL_* variables ask for tracing (the process test covers what happens then). */
import { expect, it } from 'vitest';
import { startTracing, tracingOn, tracingRequested } from '../../src/tracing/tracing.js';

it('asks for tracing only with an OTLP endpoint, and never when the SDK or the traces exporter is switched off', () => {
  expect(tracingRequested({})).toBe(false);
  expect(tracingRequested({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' })).toBe(false);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' })).toBe(false);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' })).toBe(true);
  expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
});

it('starts nothing without the variables', async () => {
  expect(await startTracing({})).toBeNull();
  expect(tracingOn()).toBe(false);
});
