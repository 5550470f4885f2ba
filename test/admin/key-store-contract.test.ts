import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyStore, NewClientKey } from '../../src/store/keys.js';
import { LocalKeyStore } from '../../src/store/local/local-key-store.js';
import { RedisKeyStore } from '../../src/store/redis/redis-key-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { SqlKeyStore } from '../../src/store/sql/sql-key-store.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { assertDatabaseUp, DIALECTS, dropTables, openTestStore, uniqueTablePrefix } from '../sql/helpers.js';

let n = 0;
const newKey = (over: Partial<NewClientKey> = {}): NewClientKey => ({
  name: `k${++n}`, hash: `digest-${n}-${Math.random()}`, hint: 'sk-g2a-…', enabled: true, expiresAt: null, models: null, rpm: null, rpd: null, tags: [], providers: null, ...over,
});

/** The same behaviour from both implementations; `twin` is a second handle on the same data. */
function contract(name: string, open: () => Promise<{ a: KeyStore; twin: KeyStore }>) {
  describe(`${name} key store`, () => {
    let a: KeyStore;
    let twin: KeyStore;
    beforeAll(async () => ({ a, twin } = await open()));

    it('creates, finds by digest, lists, updates and revokes', async () => {
      const k = await a.create(newKey({ models: ['grok-3'], tags: [] }));
      expect(await twin.findByHash(k.hash)).toMatchObject({ id: k.id, name: k.name, models: ['grok-3'], tags: [], expiresAt: null, lastUsedAt: null });
      expect((await twin.list()).some((x) => x.id === k.id)).toBe(true);
      const updated = await twin.update(k.id, { enabled: false, rpm: 3, models: null });
      expect(updated).toMatchObject({ enabled: false, rpm: 3, models: null, name: k.name });
      expect(await a.update('key_missing', { rpm: 1 })).toBeNull();
      expect(await a.revoke(k.id)).toBe(true);
      expect(await twin.findByHash(k.hash)).toBeNull();
      expect(await twin.revoke(k.id)).toBe(false);
    });

    it('keeps a provider limit, clears it with null, and reads keys stored without one as unlimited', async () => {
      const k = await a.create(newKey({ providers: ['xai'] }));
      expect((await twin.findByHash(k.hash))!.providers).toEqual(['xai']);
      expect((await twin.update(k.id, { providers: ['grok', 'xai'] }))!.providers).toEqual(['grok', 'xai']);
      expect((await a.update(k.id, { rpm: 5 }))!.providers).toEqual(['grok', 'xai']);
      expect((await twin.update(k.id, { providers: null }))!.providers).toBeNull();
      const { providers: _dropped, ...old } = newKey();
      const legacy = await a.create(old as NewClientKey);
      expect((await twin.get(legacy.id))!.providers).toBeNull();
      expect((await twin.list()).find((x) => x.id === legacy.id)!.providers).toBeNull();
    });

    it('shares rate windows: the third request in a minute of rpm 2 is refused until the window ends', async () => {
      const k = await a.create(newKey());
      const limits = { rpm: 2, rpd: null };
      expect((await a.hit(k.id, limits)).ok).toBe(true);
      expect((await twin.hit(k.id, limits)).ok).toBe(true);
      const refused = await a.hit(k.id, limits);
      expect(refused.ok).toBe(false);
      if (!refused.ok) {
        expect(refused.limit).toBe('rpm');
        expect(refused.retryAfterMs).toBeGreaterThan(55_000);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
      }
      expect((await twin.get(k.id))!.lastUsedAt).not.toBeNull();
      // A new limit opens fresh windows.
      await a.update(k.id, { rpm: 10 });
      expect((await twin.hit(k.id, { rpm: 10, rpd: 1 })).ok).toBe(true);
      const daily = await a.hit(k.id, { rpm: 10, rpd: 1 });
      expect(daily.ok === false && daily.limit === 'rpd' && daily.retryAfterMs > 86_000_000).toBe(true);
    });

    it('slides its windows: twice the limit cannot pass across a window boundary, and Retry-After is exact', async () => {
      const k = await a.create(newKey());
      const limits = { rpm: 3, rpd: null };
      const t0 = Date.now();
      const passed = async (store: KeyStore, at: number) => (await store.hit(k.id, limits, at)).ok;
      // One request opens the minute, two more at its very end, three more just after it: a
      // fixed window would let all six through within 1 s.
      expect(await passed(a, t0)).toBe(true);
      expect(await passed(twin, t0 + 59_000)).toBe(true);
      expect(await passed(a, t0 + 59_000)).toBe(true);
      expect(await passed(twin, t0 + 60_001)).toBe(true); // the first request has left the window
      const refused = await a.hit(k.id, limits, t0 + 60_001);
      expect(refused).toEqual({ ok: false, limit: 'rpm', retryAfterMs: 58_999 });
      expect(await passed(twin, t0 + 60_500)).toBe(false);
      // Retry-After is exact: refused 1 ms before it; at it both requests of t0 + 59 s have left,
      // so two pass (beside the one of t0 + 60.001 s) and the window is full again.
      expect(await passed(a, t0 + 60_001 + 58_998)).toBe(false);
      expect(await passed(twin, t0 + 60_001 + 58_999)).toBe(true);
      expect(await passed(a, t0 + 60_001 + 58_999)).toBe(true);
      expect(await passed(twin, t0 + 60_001 + 58_999)).toBe(false);
    });

    it('slides the daily window too', async () => {
      const k = await a.create(newKey());
      const limits = { rpm: null, rpd: 2 };
      const t0 = Date.now();
      expect((await a.hit(k.id, limits, t0)).ok).toBe(true);
      expect((await twin.hit(k.id, limits, t0 + 86_000_000)).ok).toBe(true);
      const refused = await a.hit(k.id, limits, t0 + 86_000_001);
      expect(refused).toEqual({ ok: false, limit: 'rpd', retryAfterMs: 399_999 });
      expect((await twin.hit(k.id, limits, t0 + 86_400_001)).ok).toBe(true);
      expect(await a.hit(k.id, limits, t0 + 86_400_002)).toMatchObject({ ok: false, limit: 'rpd' });
    });

    it('counts concurrent hits exactly', async () => {
      const k = await a.create(newKey());
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : twin).hit(k.id, { rpm: 7, rpd: null })));
      expect(results.filter((r) => r.ok)).toHaveLength(7);
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'g2a-keys-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
contract('local', async () => {
  const a = new LocalKeyStore({ dataDir: dir });
  await a.init();
  return { a, twin: a };
});

const prefix = uniquePrefix('keys');
const redisStores: RedisStore[] = [];
afterAll(async () => {
  for (const s of redisStores) await s.close();
  await dropPrefix(TEST_REDIS_URL, prefix);
});
contract('redis', async () => {
  await assertRedisUp();
  const open = async () => {
    const s = new RedisStore({ url: TEST_REDIS_URL, prefix });
    await s.init();
    redisStores.push(s);
    return new RedisKeyStore(s.client, s.keys, s.label);
  };
  return { a: await open(), twin: await open() };
});

for (const dialect of DIALECTS) {
  const tablePrefix = uniqueTablePrefix(`keys${dialect}`);
  const sqlStores: SqlStore[] = [];
  afterAll(async () => {
    for (const s of sqlStores) await s.close();
    await dropTables(dialect, tablePrefix);
  });
  contract(dialect, async () => {
    await assertDatabaseUp(dialect);
    const open = async () => {
      const s = await openTestStore(dialect, tablePrefix);
      sqlStores.push(s);
      return new SqlKeyStore(s);
    };
    return { a: await open(), twin: await open() };
  });
}
