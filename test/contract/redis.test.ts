import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { redisKeys } from '../../src/store/redis/keys.js';
import { RedisResponseStore } from '../../src/store/redis/redis-response-store.js';
import { RedisTaskStore } from '../../src/store/redis/redis-task-store.js';
import { RedisStats } from '../../src/stats/redis-stats.js';
import { statsContract } from './stats-contract.js';
import { responseContract, taskContract } from './task-contract.js';
import { manualClock, storeContract, TIER_MODES } from './store-contract.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from './redis-helpers.js';

beforeAll(() => assertRedisUp());

async function openRedis(clock: { now: () => number }, leaseTtlMs?: number): Promise<RedisStore> {
  const prefix = uniquePrefix('contract');
  const store = new RedisStore({ url: TEST_REDIS_URL, prefix, now: clock.now, leaseTtlMs });
  await store.init();
  onTestFinished(async () => {
    await store.close();
    await dropPrefix(TEST_REDIS_URL, prefix);
  });
  return store;
}

storeContract('redis', (clock) => openRedis(clock));

taskContract('redis', async () => {
  const s = new RedisTaskStore(await openRedis(manualClock()));
  await s.init();
  return s;
});

responseContract('redis', async () => new RedisResponseStore(await openRedis(manualClock())));

statsContract('redis', async (clock, retention) => {
  const store = await openRedis(clock);
  const s = new RedisStats(store.client, store.keys, store.label, { logSize: retention.maxEntries, retentionDays: retention.retentionDays, usageDays: retention.usageDays, flushMs: 0, now: clock.now });
  await s.init();
  return s;
});

describe('RedisStore specifics', () => {
  it('keeps every key under one hash tag', () => {
    const k = redisKeys('pfx');
    for (const key of [k.accounts, k.order, k.leases, k.leaseExpiry, k.meta, k.settings, k.lock('x'), k.key('a', 'b')]) expect(key.startsWith('{pfx}:')).toBe(true);
  });

  it('reclaims the slot of a lease whose holder vanished', async () => {
    const clock = manualClock();
    const store = await openRedis(clock, 10_000);
    await store.importAccounts([{ token: 'reclaim-1' }]);
    const r = { modes: ['fast'], minTier: 'basic' as const, maxConcurrency: 1, strategy: 'max_quota' as const, tierModes: TIER_MODES };
    expect((await store.lease(r)).ok).toBe(true);
    expect(await store.lease(r)).toMatchObject({ ok: false, reason: 'none_available' });
    clock.advance(10_001);
    const again = await store.lease(r);
    expect(again.ok).toBe(true);
    expect((await store.listAccounts())[0]!.inFlight).toBe(1);
  });

  it('sees changes made through another connection at once', async () => {
    const clock = manualClock();
    const a = await openRedis(clock);
    const b = new RedisStore({ url: TEST_REDIS_URL, prefix: a.keys.tag.slice(1, -1), now: clock.now });
    await b.init();
    onTestFinished(() => b.close());
    const { added } = await a.importAccounts([{ token: 'shared-1' }]);
    expect((await b.getAccount(added[0]!.id))!.token).toBe('shared-1');
  });
});
