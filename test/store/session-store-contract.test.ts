/**
 * One suite for every session store (local, Redis, PostgreSQL, MariaDB): sessions expire and are
 * revocable one by one or all at once, and the login throttle books the same slots everywhere —
 * for the shared stores, across two instances (issue 15, items 1 and 2).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalSessionStore } from '../../src/store/local/local-session-store.js';
import { RedisSessionStore } from '../../src/store/redis/redis-session-store.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { SessionStore } from '../../src/store/sessions.js';
import { SqlSessionStore } from '../../src/store/sql/sql-session-store.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { assertDatabaseUp, dropTables, openTestStore, uniqueTablePrefix } from '../sql/helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Two handles on one store (two instances); the local store has only one process. */
type Open = () => Promise<[SessionStore, SessionStore]>;

const backends: [string, Open][] = [
  [
    'local',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'g2a-sessions-'));
      const s = new LocalSessionStore({ dataDir: dir });
      await s.init();
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      return [s, s];
    },
  ],
  [
    'redis',
    async () => {
      await assertRedisUp();
      const prefix = uniquePrefix('sess');
      const stores = [new RedisStore({ url: TEST_REDIS_URL, prefix }), new RedisStore({ url: TEST_REDIS_URL, prefix })];
      for (const s of stores) await s.init();
      cleanups.push(async () => {
        for (const s of stores) await s.close();
        await dropPrefix(TEST_REDIS_URL, prefix);
      });
      const [a, b] = stores.map((s) => new RedisSessionStore(s.client, s.keys, s.label));
      return [a!, b!];
    },
  ],
  ...(['pgsql', 'mysql'] as const).map((dialect): [string, Open] => [
    dialect,
    async () => {
      await assertDatabaseUp(dialect);
      const prefix = uniqueTablePrefix(`sess${dialect}`);
      const a = await openTestStore(dialect, prefix);
      const b = await openTestStore(dialect, prefix);
      cleanups.push(async () => {
        await a.close();
        await b.close();
        await dropTables(dialect, prefix);
      });
      return [new SqlSessionStore(a), new SqlSessionStore(b)];
    },
  ]),
];

describe.each(backends)('session store: %s', (_name, open) => {
  it('keeps a session until it expires or is removed, and removeAll ends every live one', async () => {
    const [one, two] = await open();
    const now = Date.now();
    await one.create('s-1', now + 60_000);
    await one.create('s-2', now + 60_000);
    await one.create('s-old', now + 10);
    expect(await two.isValid('s-1')).toBe(true);
    expect(await two.isValid('s-old', now + 20)).toBe(false);
    expect(await two.isValid('nope')).toBe(false);
    await two.remove('s-1');
    expect(await one.isValid('s-1')).toBe(false);
    expect(await one.isValid('s-2')).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await two.removeAll()).toBe(1);
    expect(await one.isValid('s-2')).toBe(false);
  });

  it('books login slots 0, 250, 750 ms … for parallel tries on either instance, refuses past 8 s, and forgets on success', async () => {
    const [one, two] = await open();
    const now = 1_900_000_000_000;
    const slots = [];
    for (let i = 0; i < 7; i++) slots.push(await (i % 2 ? two : one).claimLoginSlot('203.0.113.5', now));
    expect(slots.slice(0, 6)).toEqual([0, 250, 750, 1750, 3750, 7750].map((waitMs) => ({ ok: true, waitMs })));
    expect(slots[6]).toEqual({ ok: false, retryAfterMs: 7750 });
    // Another client is not affected.
    expect(await two.claimLoginSlot('203.0.113.6', now)).toEqual({ ok: true, waitMs: 0 });
    await one.clearLoginFailures('203.0.113.5');
    expect(await two.claimLoginSlot('203.0.113.5', now)).toEqual({ ok: true, waitMs: 0 });
  });
});
