/**
 * "Done means" of issue 4: three server processes on one Redis share one pool — the per-account
 * cap holds across them, account state changes are seen everywhere, settings propagate within a
 * second; and a Redis outage gives clear 503s and heals by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../fake-grok/types.js';
import { isChatTurn } from '../helpers/transports.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { chat, cleanupAll, privateRedis, startServer, until, type Proc } from './procs.js';

let fake: FakeGrok;
const prefix = uniquePrefix('multi');
const servers: Proc[] = [];

const toml = (fakeUrl: string) => `
[token]
max_concurrency_per_account = 2
sync_on_import = false
auto_refresh = false
[grok]
accounts_url = "${fakeUrl}"
[log]
requests = false
`;

/** A chat turn on either transport (REST conversations or the mgw WebSocket gateway). */
/** A chat turn (not the plain GET the client sends to read why an upgrade was refused). */
const isChat = (r: RecordedRequest) => isChatTurn(r);
const accounts = async (p: Proc) => ((await (await p.admin('GET', '/admin/api/tokens')).json()) as { tokens: any[] }).tokens;

beforeAll(async () => {
  await assertRedisUp();
  fake = await startFakeGrok();
  const env = { SERVER_STORAGE_TYPE: 'redis', REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, GROK_BASE_URL: fake.url };
  servers.push(...(await Promise.all([1, 2, 3].map(() => startServer(env, toml(fake.url))))));
}, 60_000);

afterAll(async () => {
  await cleanupAll();
  await fake?.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

describe('three instances on one Redis', () => {
  it('keeps every account at ≤ 2 concurrent upstream requests under 200 concurrent streams', async () => {
    const tokens = Array.from({ length: 10 }, (_, i) => `multi-load-${i}`);
    const imp = await (await servers[0]!.admin('POST', '/admin/api/tokens', { tokens })).json();
    expect(imp.added).toBe(10);
    fake.script('multi-load', { kind: 'plain', answer: 'one two three four five six', interTokenDelayMs: 15 });

    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => chat(servers[i % 3]!.url, `multi-load ${i}`)));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok.length + limited.length).toBe(200);
    expect(ok.length).toBeGreaterThanOrEqual(20);
    for (const r of ok) expect(r.body).toContain('data: [DONE]');
    for (const r of limited) expect(JSON.parse(r.body).error.code).toBe('no_available_tokens');
    for (const t of tokens) expect(fake.maxConcurrentChats(t)).toBeLessThanOrEqual(2);
    expect(tokens.some((t) => fake.maxConcurrentChats(t) === 2)).toBe(true);

    // Every slot is given back, as every instance sees.
    for (const s of servers) await until(async () => (await accounts(s)).every((a) => a.in_flight === 0), 5000, 'in-flight 0');
  });

  it('marks an account invalid after its first failure on any instance, and never leases it again', async () => {
    fake.setAccount('multi-dead', { state: 'invalid' });
    await servers[0]!.admin('POST', '/admin/api/tokens', { tokens: ['multi-dead'] });
    // Never used: least recently used wins the tie, so the first request goes to it.
    const first = await chat(servers[2]!.url, 'multi-dead-1', false);
    expect(first.status).toBe(200);
    const deadCalls = () => fake.requests.filter((r) => r.token === 'multi-dead' && isChat(r)).length;
    expect(deadCalls()).toBe(1);
    // Every instance sees it invalid.
    for (const s of servers) expect((await accounts(s)).filter((a) => a.status === 'invalid')).toHaveLength(1);
    for (let i = 0; i < 6; i++) expect((await chat(servers[i % 3]!.url, `multi-dead-after ${i}`, false)).status).toBe(200);
    expect(deadCalls()).toBe(1);
  });

  it('returns a cooling account to service after its Retry-After', async () => {
    fake.setAccount('multi-cool', { state: 'limited', retryAfterSec: 1 });
    await servers[0]!.admin('POST', '/admin/api/tokens', { tokens: ['multi-cool'] });
    expect((await chat(servers[1]!.url, 'multi-cool-1', false)).status).toBe(200);
    const cooling = (await accounts(servers[2]!)).find((a) => a.status === 'cooling');
    expect(cooling).toBeTruthy();
    fake.setAccount('multi-cool', { state: 'valid' });
    await until(async () => (await accounts(servers[0]!)).find((a) => a.id === cooling.id)?.status === 'active', 5000, 'cooldown end');
    expect((await chat(servers[0]!.url, 'multi-cool-2', false)).status).toBe(200);
    const last = fake.requests.filter((r) => isChat(r)).at(-1)!;
    expect(last.token).toBe('multi-cool');
  });

  it('applies a setting changed on instance 1 on instance 3 within a second', async () => {
    const t0 = Date.now();
    const put = await servers[0]!.admin('PUT', '/admin/api/settings', { token: { max_concurrency_per_account: 3 }, retry: { max_attempts: 4 } });
    expect(put.status).toBe(200);
    await until(async () => (await (await servers[2]!.admin('GET', '/admin/api/settings')).json()).token.max_concurrency_per_account === 3, 1000, 'settings on instance 3');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect((await (await servers[1]!.admin('GET', '/admin/api/settings')).json()).retry.max_attempts).toBe(4);
  });
});

describe('Redis outage', () => {
  it('answers 503 store_unavailable while Redis is down and recovers by itself', async () => {
    const redis = await privateRedis();
    const env = { SERVER_STORAGE_TYPE: 'redis', REDIS_URL: redis.url, REDIS_PREFIX: 'outage', GROK_BASE_URL: fake.url };
    const [a, b] = await Promise.all([startServer(env, toml(fake.url)), startServer(env, toml(fake.url))]);
    await a!.admin('POST', '/admin/api/tokens', { tokens: ['outage-1', 'outage-2', 'outage-3'] });
    fake.script('outage-load', { kind: 'plain', answer: 'a b c d e f g h', interTokenDelayMs: 40 });

    const load = Promise.all(Array.from({ length: 12 }, (_, i) => chat((i % 2 ? a : b)!.url, `outage-load ${i}`)));
    await until(async () => fake.activeChats() > 0, 5000, 'streams running');
    await redis.kill();
    const during = await chat(a!.url, 'outage-load during', false);
    expect(during.status).toBe(503);
    const err = JSON.parse(during.body).error;
    expect(err.code).toBe('store_unavailable');
    expect(err.message).toContain('Redis');
    expect((await fetch(`${b!.url}/ready`)).status).toBe(503);
    expect((await fetch(`${b!.url}/health`)).status).toBe(200);
    const loaded = await load;
    for (const r of loaded) expect([200, 429, 503]).toContain(r.status);
    expect(a!.child.exitCode).toBeNull();

    await redis.start();
    await until(async () => (await chat(b!.url, 'outage-load after', false)).status === 200, 15_000, 'service back');
    expect((await fetch(`${a!.url}/ready`)).status).toBe(200);
    // Reports held back during the outage were replayed: no slot stays taken.
    await until(async () => (await accounts(a!)).every((x) => x.in_flight === 0), 10_000, 'in-flight 0 after recovery');
  }, 60_000);
});
