/**
 * The slot queue (issue 17): with every account at its cap, requests wait first come first served
 * across instances on one Redis instead of an instant 429; they give up after
 * token.queue_timeout_sec with 429 + Retry-After, leave when their client does, and the queue is
 * bounded by token.queue_max.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { chat, cleanupAll, startServer, until, type Proc } from './procs.js';

let fake: FakeGrok;
const prefixes: string[] = [];

const toml = (fakeUrl: string, token: string) => `
[token]
sync_on_import = false
auto_refresh = false
${token}
[grok]
accounts_url = "${fakeUrl}"
[log]
requests = false
`;

async function instances(n: number, token: string): Promise<Proc[]> {
  const prefix = uniquePrefix('queue');
  prefixes.push(prefix);
  const env = { SERVER_STORAGE_TYPE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, GROK_BASE_URL: fake.url };
  return Promise.all(Array.from({ length: n }, () => startServer(env, toml(fake.url, token))));
}

const queueDepth = async (p: Proc) => ((await (await p.admin('GET', '/admin/api/stats')).json()) as { queue_depth: number }).queue_depth;

function post(url: string, prompt: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-3', stream: false, messages: [{ role: 'user', content: prompt }] }),
    signal,
  });
}

beforeAll(async () => {
  await assertRedisUp();
  fake = await startFakeGrok();
});

afterAll(async () => {
  await cleanupAll();
  await fake?.close();
  for (const p of prefixes) await dropPrefix(TEST_REDIS_URL, p);
});

describe('slot queue on one Redis', () => {
  it('serves all 200 concurrent streams over 20 slots on three instances, never above the cap', async () => {
    const servers = await instances(3, 'max_concurrency_per_account = 2\nqueue_timeout_sec = 60');
    const tokens = Array.from({ length: 10 }, (_, i) => `queue-load-${i}`);
    expect((await (await servers[0]!.admin('POST', '/admin/api/tokens', { tokens })).json()).added).toBe(10);
    // About 100 ms per answer: ten waves of 20 take about a second plus the hand-overs.
    fake.script('queue-load', { kind: 'plain', answer: 'one two three four five six', interTokenDelayMs: 15 });

    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(servers[i % 3]!.url, `queue-load ${i}`)));
    const elapsed = Date.now() - t0;
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    for (const r of results) expect(r.body).toContain('data: [DONE]');
    for (const t of tokens) expect(fake.maxConcurrentChats(t)).toBeLessThanOrEqual(2);
    console.log(`200 streams over 20 slots on 3 instances: all served in ${elapsed} ms`);
    for (const s of servers) expect(await queueDepth(s)).toBe(0);
  }, 90_000);

  it('times out with 429 and Retry-After, drops a waiter whose client left, and refuses beyond queue_max', async () => {
    const [a, b] = await instances(2, 'max_concurrency_per_account = 1\nqueue_timeout_sec = 1.5\nqueue_max = 2');
    await a!.admin('POST', '/admin/api/tokens', { tokens: ['queue-one'] });
    fake.script('queue-slow', { kind: 'plain', answer: 'a b c d e f g h i j', interTokenDelayMs: 400 });

    // Holds the only slot for about four seconds.
    const holder = post(a!.url, 'queue-slow holder');
    await until(async () => fake.activeChats() > 0, 5000, 'slot taken');

    // A client that leaves stops waiting: the queue (seen from the other instance) empties.
    const ctl = new AbortController();
    const leaving = post(b!.url, 'queue-slow leaving', ctl.signal).catch((e: Error) => e);
    await until(async () => (await queueDepth(a!)) === 1, 2000, 'one waiter');
    ctl.abort();
    expect(await leaving).toBeInstanceOf(Error);
    await until(async () => (await queueDepth(b!)) === 0, 2000, 'waiter gone');

    // Two may wait (queue_max = 2); the third is refused at once.
    const t0 = Date.now();
    const waiting = [post(a!.url, 'queue-slow w1'), post(b!.url, 'queue-slow w2')];
    await until(async () => (await queueDepth(a!)) === 2, 2000, 'two waiters');
    const refused = await post(a!.url, 'queue-slow w3');
    expect(refused.status).toBe(429);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect((await refused.json()).error.code).toBe('no_available_tokens');

    // The waiters give up after queue_timeout_sec, with a Retry-After.
    for (const res of await Promise.all(waiting)) {
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await res.json()).error.code).toBe('no_available_tokens');
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect((await holder).status).toBe(200);
    expect(fake.requests.filter((r) => r.token === 'queue-one').length).toBeGreaterThan(0);
  }, 30_000);
});
