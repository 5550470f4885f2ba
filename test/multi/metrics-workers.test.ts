/**
 * GET /metrics with SERVER_WORKERS = 2: whichever worker takes the scrape, it answers with both
 * workers' counts summed (the primary aggregates them), and shared-store gauges are not doubled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { parseExposition, total } from '../metrics/scrape.js';
import { cleanupAll, requestLogPids, startServer, until, waitForWorkers } from './procs.js';

let fake: FakeGrok;
const prefix = uniquePrefix('metrics-workers');
beforeAll(async () => {
  await assertRedisUp();
  fake = await startFakeGrok();
});
afterAll(async () => {
  await cleanupAll();
  await fake.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

/** A scrape on a fresh connection, so the cluster hands it to either worker. */
async function scrapeFresh(url: string) {
  const res = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

describe('/metrics over SERVER_WORKERS', () => {
  it('sums both workers’ request counts and reports shared gauges once', async () => {
    // LOG_LEVEL info: each worker's "Server listening" line and the request lines carry its pid.
    const server = await startServer(
      { SERVER_WORKERS: '2', SERVER_STORAGE_TYPE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, GROK_BASE_URL: fake.url, LOG_LEVEL: 'info' },
      '[token]\nsync_on_import = false\nauto_refresh = false\n[log]\nrequests = true\n',
    );
    // /health answered once the first worker listened; the second may still be starting, and
    // until it listens every connection goes to the first (which would sum nothing).
    const workers = await waitForWorkers(server, 2);
    await server.admin('POST', '/admin/api/tokens', { tokens: ['metrics-workers-1', 'metrics-workers-2'] });
    const n = 12;
    // Fresh connections: node:cluster's primary deals them out round-robin (its default on Linux),
    // so each worker serves about half, and a scrape answered by one worker alone would see ~n/2.
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: `metrics-workers ${i}` }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    // Both workers served some of them (the premise of the sums below), and only workers did.
    // (The line is written after the answer went out: wait until all n are in.)
    await until(async () => requestLogPids(server.output(), '/v1/chat/completions').length >= n, 10_000, 'the request log lines');
    const byPid = requestLogPids(server.output(), '/v1/chat/completions');
    expect(byPid).toHaveLength(n);
    expect(new Set(byPid)).toEqual(workers);
    expect(workers.has(server.child.pid!)).toBe(false);
    const served = { route: '/v1/chat/completions', status: '200' };
    for (let i = 0; i < 4; i++) {
      const s = await scrapeFresh(server.url);
      expect(total(s, 'grok2api_http_requests_total', served)).toBe(n);
      expect(total(s, 'grok2api_upstream_attempts_total', { result: 'ok' })).toBe(n);
      // Two accounts in the shared store: reported once, not once per worker.
      expect(total(s, 'grok2api_accounts')).toBe(2);
    }
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 60_000);
});
