/**
 * Tracing with SERVER_WORKERS = 2: each worker starts its own SDK and exports its own spans (the
 * resource's process.pid tells them apart); the primary serves nothing and exports nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { cleanupAll, startServer, waitForWorkers } from '../multi/procs.js';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

let fake: FakeGrok;
let receiver: OtlpReceiver;
const prefix = uniquePrefix('tracing-workers');
beforeAll(async () => {
  await assertRedisUp();
  fake = await startFakeGrok();
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await cleanupAll();
  await fake.close();
  await receiver.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

it('exports every request’s spans from the worker that served it', async () => {
  const server = await startServer(
    {
      SERVER_WORKERS: '2',
      SERVER_STORAGE_TYPE: 'redis',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: prefix,
      GROK_BASE_URL: fake.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      // Each worker's "Server listening" line (with its pid) is an info line.
      LOG_LEVEL: 'info',
    },
    '[token]\nsync_on_import = false\nauto_refresh = false\n',
  );
  // /health answered once the first worker listened: wait for both, so that the fresh
  // connections below are dealt out between them.
  const workers = await waitForWorkers(server, 2);
  await server.admin('POST', '/admin/api/tokens', { tokens: ['tracing-workers-1', 'tracing-workers-2'] });
  const chat = async (i: number) => {
    // A fresh connection each: the primary deals them out round-robin.
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: `tracing-workers ${i}` }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
  };
  const n = 8;
  for (let i = 0; i < n; i++) await chat(i);
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);

  const chats = receiver.spans().filter((s) => s.name === 'POST /v1/chat/completions');
  expect(chats).toHaveLength(n);
  const pids = new Set(chats.map((s) => s.resource['process.pid']));
  expect(pids).toEqual(workers);
  expect(pids.has(server.child.pid!)).toBe(false);
  // Each request's attempt came from the same worker as its request span.
  const attempts = receiver.spans().filter((s) => s.name === 'upstream.attempt');
  expect(attempts).toHaveLength(n);
  for (const a of attempts) {
    const parent = chats.find((c) => c.spanId === a.parentSpanId);
    expect(parent?.resource['process.pid']).toBe(a.resource['process.pid']);
  }
}, 60_000);
