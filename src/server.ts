import { buildApp } from './app.js';
import { isPrimary, runPrimary } from './cluster.js';
import { createRuntime } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/load.js';
import { drainOnClose } from './http/drain.js';
import { warmTokenizer } from './lib/tokenizer.js';
import { startTracing } from './tracing/tracing.js';

/** Process entry: config → services → app → listen; SIGTERM/SIGINT drain streams, persist state, exit. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`grok2api: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // SERVER_WORKERS > 1: this process only supervises; each worker runs the server below.
  if (config.server.workers > 1 && isPrimary()) return runPrimary(config.server.workers, config.server.shutdown_grace_sec);
  // OpenTelemetry when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (each worker exports its own spans); before the logger, whose lines then carry trace ids.
  const tracing = await startTracing();
  const runtime = await createRuntime(config);
  const { services } = runtime;
  const log = services.log;
  if (runtime.generatedAppKey) {
    // Printed once, on the first start; it is stored under DATA_DIR and reused afterwards.
    process.stdout.write(`\n  Admin key generated (shown only now): ${services.appKey}\n  Log in at /admin or send it as a Bearer token to /admin/api/*.\n\n`);
  }
  if (await services.clientKeys.isOpen()) log.warn('no client API key configured: /v1 is open to anyone who can reach this port (set API_KEY)');
  void warmTokenizer();

  const app = await buildApp(services);
  await app.listen({ host: config.server.host, port: config.server.port });
  const drain = drainOnClose(app.server, () => app.streamCutoff.abort());

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new requests, running streams may finish');
    try {
      await drain.close(config.server.shutdown_grace_sec * 1000);
      await app.close();
    } finally {
      await runtime.close();
      await tracing?.shutdown().catch(() => {});
      log.info('stopped');
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`grok2api: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
