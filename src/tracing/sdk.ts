/**
 * The OpenTelemetry SDK, loaded only when tracing is on (./tracing.ts imports this dynamically).
 * Everything is configured by the standard variables, read by the SDK itself:
 * OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS / _TIMEOUT, OTEL_TRACES_SAMPLER(_ARG),
 * OTEL_BSP_* (batching), OTEL_RESOURCE_ATTRIBUTES; here only OTEL_SERVICE_NAME's default
 * ("grok2api") and the protocol (OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: `http/protobuf`, the
 * default, or `http/json`; gRPC is not shipped and falls back to http/protobuf with a warning).
 * Registering sets the global tracer provider, the AsyncLocalStorage context manager (so spans
 * and log lines follow a request through its awaits) and the W3C trace-context propagator.
 */
import { diag, DiagLogLevel, type DiagLogFunction } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

type Env = Record<string, string | undefined>;

/** One stderr line per SDK warning or error (an export that failed: the collector down, refused). */
function stderrLine(level: string): DiagLogFunction {
  return (message, ...args) => {
    let text = message;
    // The SDK reports a failed export as the JSON of the error: its message says it all.
    try {
      const parsed = JSON.parse(message) as { message?: unknown };
      if (typeof parsed.message === 'string') text = `export failed: ${parsed.message}`;
    } catch {
      // not JSON: as it is
    }
    const extra = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    process.stderr.write(`grok2api: tracing ${level}: ${text}${extra ? ` ${extra}` : ''}\n`);
  };
}

export function startSdk(env: Env): { shutdown(): Promise<void> } {
  const quiet: DiagLogFunction = () => {};
  diag.setLogger({ error: stderrLine('error'), warn: stderrLine('warning'), info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    diag.warn(`OTLP protocol "${protocol}" is not supported here; exporting with http/protobuf`);
  }
  const exporter = protocol === 'http/json' ? new JsonExporter() : new ProtoExporter();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over our default name.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'grok2api', 'process.pid': process.pid }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  return { shutdown: () => provider.shutdown() };
}
