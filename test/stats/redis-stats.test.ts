import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectOrThrow, createRedis } from '../../src/store/redis/connection.js';
import { redisKeys } from '../../src/store/redis/keys.js';
import { RedisStats } from '../../src/stats/redis-stats.js';
import { Stats } from '../../src/stats/stats.js';
import type { LogEntry } from '../../src/stats/types.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';

const prefix = uniquePrefix('stats');
const keys = redisKeys(prefix);
const clients: Redis[] = [];
const base = Date.now();

async function client(): Promise<Redis> {
  const c = createRedis({ url: TEST_REDIS_URL });
  await connectOrThrow(c, 'test redis');
  clients.push(c);
  return c;
}
const entry = (i: number, over: Partial<LogEntry> = {}): LogEntry => ({
  time: base + i,
  method: 'POST',
  route: '/v1/chat/completions',
  model: 'grok-3',
  key: 'k1',
  account: 'acc-1',
  status: 200,
  ms: 100 + i,
  tokens: 10,
  ...over,
});

beforeAll(() => assertRedisUp());
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await dropPrefix(TEST_REDIS_URL, prefix);
});

describe('stats shared through Redis', () => {
  it('two instances record separately and both read the combined figures and log', async () => {
    const a = new RedisStats(await client(), keys, 'test', { logSize: 4, flushMs: 0 });
    const b = new RedisStats(await client(), keys, 'test', { logSize: 4, flushMs: 0 });
    const local = new Stats({ dataDir: null, logSize: 4, persistMs: 0 });
    const onA = [entry(0), entry(1, { status: 502, tokens: null }), entry(2, { account: 'acc:2', cost: 0.000396, costEstimated: true })];
    const onB = [entry(3, { model: 'grok-4', key: 'k2', cost: 0.25 }), entry(4, { model: 'grok-4', key: null, account: null })];
    for (const e of onA) a.record(e);
    for (const e of onB) b.record(e);
    for (const e of [...onA, ...onB]) local.record(e);
    // Nothing reached Redis yet: recording never touches it.
    expect(await (await client()).exists(keys.key('stats', 'total'))).toBe(0);
    expect(await a.flush()).toBe(true);
    expect(await b.flush()).toBe(true);

    for (const s of [a, b]) {
      const snap = await s.snapshot(base);
      // Same figures, same JSON shape as one local instance that served all five requests.
      expect(snap).toEqual(local.snapshot(base));
      expect(snap.summary).toMatchObject({ total: 5, success: 4, failed: 1, tokens: 40, avg_latency_ms: 102, cost_usd: 0.250396 });
      expect(snap.keys.find((x) => x.key_name === 'k2')!.cost_usd).toBe(0.25);
      // The part priced on estimated counts (grok.com turns) is a counter of its own.
      expect(snap.summary.cost_estimated_usd).toBe(0.000396);
      expect(snap.keys.find((x) => x.key_name === 'k2')!.cost_estimated_usd).toBe(0);
      expect(snap.hourly[23]!.total).toBe(5);
      expect(snap.models).toEqual([expect.objectContaining({ model: 'grok-3', total: 3 }), expect.objectContaining({ model: 'grok-4', total: 2 })]);
      expect(snap.accounts.map((x) => x.account_id)).toEqual(['acc-1', 'acc:2']);
      expect((await s.recent(100)).map((e) => e.time - base)).toEqual([4, 3, 2, 1]);
      expect(await s.recent(2)).toEqual(local.recent(2));
    }

    // Buckets expire with the local retention: 48 h after their hour, 30 days after their day.
    const r = await client();
    const hourTtl = await r.pttl(keys.key('stats', 'h', String(Math.floor(base / 3_600_000))));
    expect(hourTtl).toBeGreaterThan(48 * 3_600_000 - 60_000);
    expect(hourTtl).toBeLessThanOrEqual(49 * 3_600_000);
    const dayTtl = await r.pttl(keys.key('stats', 'd', String(Math.floor(base / 86_400_000))));
    expect(dayTtl).toBeGreaterThan(30 * 86_400_000 - 60_000);
    expect(dayTtl).toBeLessThanOrEqual(31 * 86_400_000);
    expect(await r.pttl(keys.key('stats', 'total'))).toBe(-1);

    // A smaller log.recent_requests reaches Redis on the next flush even with nothing recorded.
    a.resize(2);
    b.resize(2);
    expect((await a.recent(100)).map((e) => e.time - base)).toEqual([4, 3]);
    expect(await r.zcard(keys.key('stats', 'logz'))).toBe(2);
  });

  it('takes the log list of the previous version into the sorted set, on one instance only', async () => {
    const p = uniquePrefix('stats-adopt');
    const k = redisKeys(p);
    const r = await client();
    try {
      // The old list: newest first.
      await r.rpush(k.key('stats', 'log'), JSON.stringify(entry(2)), JSON.stringify(entry(1)), 'not json', JSON.stringify(entry(0)));
      const [a, b] = [new RedisStats(await client(), k, 'test', { logSize: 10, flushMs: 0 }), new RedisStats(await client(), k, 'test', { logSize: 10, flushMs: 0 })];
      await Promise.all([a.init(), b.init()]);
      expect(await r.exists(k.key('stats', 'log'))).toBe(0);
      a.record(entry(3));
      await b.flush();
      expect((await a.recent(10)).map((e) => e.time - base)).toEqual([3, 2, 1, 0]);
      expect(await r.zcard(k.key('stats', 'logz'))).toBe(4);
    } finally {
      await dropPrefix(TEST_REDIS_URL, p);
    }
  });

  it('a flush while Redis is unreachable keeps the increments for the next one', async () => {
    const p = uniquePrefix('stats-down');
    const k = redisKeys(p);
    const c = await client();
    const errors: unknown[] = [];
    const s = new RedisStats(c, k, 'test', { logSize: 10, flushMs: 0, onError: (e) => errors.push(e) });
    const other = new RedisStats(await client(), k, 'test', { logSize: 10, flushMs: 0 });
    try {
      s.record(entry(0));
      s.record(entry(1, { status: 429 }));
      const ended = new Promise((resolve) => c.once('end', resolve));
      c.disconnect();
      expect(await s.flush()).toBe(false);
      s.record(entry(2, { model: 'grok-4' }));
      expect(await s.flush()).toBe(false);
      expect(errors).toHaveLength(1); // reported once per outage, not every second
      await expect(s.snapshot(base)).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });

      await ended;
      await c.connect();
      expect(await s.flush()).toBe(true);
      const snap = await other.snapshot(base);
      expect(snap.summary).toMatchObject({ total: 3, success: 2, failed: 1 });
      expect(snap.models.map((m) => [m.model, m.total])).toEqual([['grok-3', 2], ['grok-4', 1]]);
      expect((await other.recent(10)).map((e) => e.time - base)).toEqual([2, 1, 0]);
      // Nothing counted twice by later flushes.
      expect(await s.flush()).toBe(true);
      expect((await other.snapshot(base)).summary.total).toBe(3);

      await other.reset();
      expect((await s.snapshot(base)).summary.total).toBe(0);
      expect(await s.recent(10)).toEqual([]);
    } finally {
      await dropPrefix(TEST_REDIS_URL, p);
    }
  });

  it('a flush whose reply was lost (applied, but we saw a timeout) is resent and counted once', async () => {
    const p = uniquePrefix('stats-lost');
    const k = redisKeys(p);
    const real = await client();
    let loseNext = true;
    // The script runs on Redis, then the caller sees what a command timeout looks like.
    const flaky = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'eval') return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<Redis['eval']>) => {
          const r = await target.eval(...args);
          if (loseNext) {
            loseNext = false;
            throw new Error('Command timed out');
          }
          return r;
        };
      },
    });
    const s = new RedisStats(flaky, k, 'test', { logSize: 10, flushMs: 0, onError: () => {} });
    const other = new RedisStats(await client(), k, 'test', { logSize: 10, flushMs: 0 });
    try {
      s.record(entry(0));
      s.record(entry(1));
      expect(await s.flush()).toBe(false);
      s.record(entry(2));
      expect(await s.flush()).toBe(true);
      const snap = await other.snapshot(base);
      expect(snap.summary.total).toBe(3);
      expect(snap.models.map((m) => [m.model, m.total])).toEqual([['grok-3', 3]]);
      expect((await other.recent(10)).map((e) => e.time - base)).toEqual([2, 1, 0]);
    } finally {
      await dropPrefix(TEST_REDIS_URL, p);
    }
  });

  it('caps distinct models across instances, summing the rest under (other)', async () => {
    const k = redisKeys(uniquePrefix('stats-cap'));
    const a = new RedisStats(await client(), k, 'test', { logSize: 0, flushMs: 0 });
    const b = new RedisStats(await client(), k, 'test', { logSize: 0, flushMs: 0 });
    try {
      for (let i = 0; i < 2000; i++) a.record(entry(0, { model: `m-${i}` }));
      expect(await a.flush()).toBe(true);
      b.record(entry(1, { model: 'late-1' }));
      b.record(entry(2, { model: 'late-2' }));
      b.record(entry(3, { model: 'm-7' }));
      expect(await b.flush()).toBe(true);
      const snap = await a.snapshot(base);
      expect(snap.summary.total).toBe(2003);
      expect(snap.models.find((m) => m.model === '(other)')?.total).toBe(2);
      expect(snap.models.find((m) => m.model === 'm-7')?.total).toBe(2);
      expect(snap.models.some((m) => m.model.startsWith('late'))).toBe(false);
      expect(await a.recent(10)).toEqual([]);
    } finally {
      await dropPrefix(TEST_REDIS_URL, k.tag.slice(1, -1));
    }
  });
});
