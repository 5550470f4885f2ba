/**
 * Standalone fake grok.com: `npm run fake-grok` (PORT, default 9100; HOST, default 127.0.0.1;
 * REQUIRE_STATSIG=1 to refuse requests without x-statsig-id). Drive it through the /__fake/ control API.
 * FAKE_TLS_KEY_FILE + FAKE_TLS_CERT_FILE (PEM) add an HTTPS listener (HTTP/2 and HTTP/1.1) on
 * TLS_PORT (default: any free port) with the same endpoints.
 * FAKE_BENCH=1 turns on benchmark mode (bench-mode.ts): a fixed answer of BENCH_TOKENS tokens
 * (default 20) BENCH_DELAY_MS apart (default 0), plus the OpenAI-shaped /v1/chat/completions.
 */
import { readFileSync } from 'node:fs';
import { BenchMode } from './bench-mode.js';
import { startFakeGrok } from './server.js';

const port = Number(process.env.PORT ?? 9100);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid PORT ${process.env.PORT}`);
  process.exit(2);
}
const fake = await startFakeGrok({
  port,
  host: process.env.HOST || '127.0.0.1',
  requireStatsig: ['1', 'true', 'yes'].includes((process.env.REQUIRE_STATSIG ?? '').toLowerCase()),
  bench: ['1', 'true', 'yes'].includes((process.env.FAKE_BENCH ?? '').toLowerCase())
    ? new BenchMode({ tokens: Number(process.env.BENCH_TOKENS ?? 20), delayMs: Number(process.env.BENCH_DELAY_MS ?? 0) })
    : undefined,
  tls: process.env.FAKE_TLS_KEY_FILE && process.env.FAKE_TLS_CERT_FILE
    ? { key: readFileSync(process.env.FAKE_TLS_KEY_FILE), cert: readFileSync(process.env.FAKE_TLS_CERT_FILE), port: Number(process.env.TLS_PORT ?? 0) }
    : undefined,
});
console.log(`fake grok.com listening on ${fake.url}`);
if (fake.tlsUrl) console.log(`fake grok.com TLS listening on ${fake.tlsUrl}`);
console.log(`control API: ${fake.url}/__fake/{accounts,scripts,requests,reset,state}`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void fake.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
