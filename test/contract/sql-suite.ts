/**
 * The store, task and response contracts on a SQL database, plus what only the SQL stores do
 * (migrations, the database's clear start-up errors). Run once per dialect by pgsql.test.ts and
 * mysql.test.ts, each under its own table prefix.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { checkServerVersion, migrate } from '../../src/store/sql/migrate.js';
import { DIALECTS as SQL_DIALECTS } from '../../src/store/sql/db.js';
import { LATEST_VERSION, MIGRATIONS, tableNames } from '../../src/store/sql/schema.js';
import { SqlResponseStore } from '../../src/store/sql/sql-response-store.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { SqlTaskStore } from '../../src/store/sql/sql-task-store.js';
import type { Dialect } from '../../src/store/sql/url.js';
import { assertDatabaseUp, dropTables, openTestStore, rawQuery, testOptions, uniqueTablePrefix, wipe } from '../sql/helpers.js';
import { manualClock, storeContract, TIER_MODES } from './store-contract.js';
import { SqlStats } from '../../src/store/sql/sql-stats.js';
import { statsContract } from './stats-contract.js';
import { responseContract, taskContract } from './task-contract.js';

export function sqlContractSuite(dialect: Dialect): void {
  const prefixes: string[] = [];
  const fresh = (label: string) => {
    const p = uniqueTablePrefix(label);
    prefixes.push(p);
    return p;
  };
  beforeAll(() => assertDatabaseUp(dialect));
  afterAll(async () => {
    for (const p of prefixes) await dropTables(dialect, p);
  });

  // The contract cases run one after another on one store, emptied before each and reading the
  // case's clock (a fresh pool and migration check per case would triple the file's time).
  let clockNow: () => number = Date.now;
  let shared: SqlStore | null = null;
  afterAll(async () => {
    await shared?.close();
  });
  async function open(clock: { now: () => number }, over: { leaseTtlMs?: number; prefix?: string } = {}): Promise<SqlStore> {
    if (over.prefix || over.leaseTtlMs !== undefined) {
      const store = await openTestStore(dialect, over.prefix ?? fresh('c'), { now: clock.now, leaseTtlMs: over.leaseTtlMs });
      onTestFinished(() => store.close());
      return store;
    }
    shared ??= await openTestStore(dialect, fresh('c'), { now: () => clockNow() });
    clockNow = clock.now;
    await wipe(shared);
    return shared;
  }

  storeContract(dialect, (clock) => open(clock));

  taskContract(dialect, async () => {
    const s = new SqlTaskStore(await open(manualClock()));
    await s.init();
    onTestFinished(() => s.close());
    return s;
  });

  responseContract(dialect, async () => {
    const s = new SqlResponseStore(await open(manualClock()), Date.now, 0);
    onTestFinished(() => s.close());
    return s;
  });

  statsContract(dialect, async (clock, retention) => {
    const s = new SqlStats(await open(clock), { logSize: retention.maxEntries, retentionDays: retention.retentionDays, usageDays: retention.usageDays, flushMs: 0, now: clock.now });
    await s.init();
    return s;
  });

  describe(`SqlStore specifics: ${dialect}`, () => {
    it('reclaims the slot of a lease whose holder vanished', async () => {
      const clock = manualClock();
      const store = await open(clock, { leaseTtlMs: 10_000 });
      await store.importAccounts([{ token: 'reclaim-1' }]);
      const r = { modes: ['fast'], minTier: 'basic' as const, maxConcurrency: 1, strategy: 'max_quota' as const, tierModes: TIER_MODES };
      expect((await store.lease(r)).ok).toBe(true);
      expect(await store.lease(r)).toMatchObject({ ok: false, reason: 'none_available' });
      clock.advance(10_001);
      expect((await store.lease(r)).ok).toBe(true);
      expect((await store.listAccounts())[0]!.inFlight).toBe(1);
    });

    it('holds the per-account cap for leases from several stores (instances) at once', async () => {
      const prefix = fresh('cap');
      const clock = manualClock();
      const stores = [await open(clock, { prefix }), await open(clock, { prefix }), await open(clock, { prefix })];
      await stores[0]!.importAccounts(['m-1', 'm-2', 'm-3'].map((token) => ({ token })));
      const r = { modes: ['fast'], minTier: 'basic' as const, maxConcurrency: 2, strategy: 'random' as const, tierModes: TIER_MODES };
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => stores[i % 3]!.lease(r)));
      const per = new Map<string, number>();
      for (const x of results) if (x.ok) per.set(x.lease.accountId, (per.get(x.lease.accountId) ?? 0) + 1);
      expect([...per.values()]).toEqual([2, 2, 2]);
      for (const a of await stores[1]!.listAccounts()) expect(a.inFlight).toBe(2);
    });

    it('migrates once when several instances start together, and records the schema version', async () => {
      const prefix = fresh('mig');
      const stores = await Promise.all([1, 2, 3, 4].map(() => openTestStore(dialect, prefix)));
      for (const s of stores) await s.close();
      const rows = await rawQuery(dialect, `SELECT version FROM ${prefix}schema_migrations`);
      // Each migration once, the newest being this build's version.
      expect(rows.map((r) => Number(r.version)).sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(MIGRATIONS.at(-1)!.version).toBe(LATEST_VERSION);
    });

    it('migration 6 fills the request log columns from the entries already logged', async () => {
      const prefix = fresh('log6');
      const t = tableNames(prefix);
      // A database as version 5 left it, with two log rows (JSON only).
      await rawQuery(dialect, `CREATE TABLE ${t.migrations} (version INT PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)${SQL_DIALECTS[dialect].tableSuffix}`);
      for (const m of MIGRATIONS.filter((x) => x.version <= 5)) {
        for (const statement of m.statements(t, SQL_DIALECTS[dialect], dialect)) await rawQuery(dialect, statement);
        await rawQuery(dialect, `INSERT INTO ${t.migrations} (version, name, applied_at) VALUES (?, ?, 0)`, [m.version, m.name]);
      }
      const at = Date.now() - 60_000;
      const old = [
        { time: at, method: 'POST', route: '/v1/chat/completions', model: 'grok-3', key: 'ci', account: 'acc-1', status: 200, ms: 5, tokens: 7 },
        { time: at + 1, method: 'POST', route: '/v1/responses', model: null, key: null, account: null, status: 503, ms: 6, tokens: null },
      ];
      for (const e of old) await rawQuery(dialect, `INSERT INTO ${t.requestLog} (data) VALUES (?)`, [JSON.stringify(e)]);
      const store = await openTestStore(dialect, prefix);
      onTestFinished(() => store.close());
      const rows = await rawQuery(dialect, `SELECT time_ms, key_id, account, model, status, route FROM ${t.requestLog} ORDER BY id`);
      expect(rows.map((r) => [Number(r.time_ms), r.key_id, r.account, r.model, Number(r.status), r.route])).toEqual([
        [at, null, 'acc-1', 'grok-3', 200, '/v1/chat/completions'],
        [at + 1, null, null, null, 503, '/v1/responses'],
      ]);
      const stats = new SqlStats(store, { logSize: 100, flushMs: 0 });
      expect((await stats.queryLog({ status: { min: 500, max: 599 }, limit: 10 })).entries).toEqual([old[1]]);
      expect((await stats.queryLog({ model: 'grok-3', limit: 10 })).entries).toEqual([old[0]]);
    });

    it('refuses a schema newer than this build, naming the database', async () => {
      const prefix = fresh('new');
      await (await openTestStore(dialect, prefix)).close();
      await rawQuery(dialect, `INSERT INTO ${prefix}schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`, [LATEST_VERSION + 1]);
      await expect(openTestStore(dialect, prefix)).rejects.toThrow(new RegExp(`\\(${dialect === 'pgsql' ? 'PostgreSQL' : 'MySQL/MariaDB'} at 127\\.0\\.0\\.1.*schema version ${LATEST_VERSION + 1}, newer than this build`));
    });

    it('says which database it cannot reach, without the password', async () => {
      const url = dialect === 'pgsql' ? 'postgres://u:secret@127.0.0.1:1/nowhere' : 'mysql://u:secret@127.0.0.1:1/nowhere';
      const store = new SqlStore({ ...testOptions(dialect, fresh('unr')), url });
      const err = await store.init().then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/cannot reach the database \((PostgreSQL|MySQL\/MariaDB) at 127\.0\.0\.1:1\/nowhere\).*DATABASE_URL/);
      expect(err?.message).not.toContain('secret');
    });

    it('tells the other instances about settings and task changes', async () => {
      const prefix = fresh('feed');
      const clock = manualClock();
      const [a, b] = [await open(clock, { prefix }), await open(clock, { prefix })];
      let heard = 0;
      b.changes.onSettings(() => heard++);
      await new Promise((r) => setTimeout(r, 300));
      const before = heard;
      const t0 = Date.now();
      await a.updateSettings((cur) => JSON.stringify({ ...(cur ? JSON.parse(cur) : {}), retry: { max_attempts: 5 } }));
      while (heard === before && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(JSON.parse((await b.loadSettings())!)).toEqual({ retry: { max_attempts: 5 } });
    });
  });

  it('checks the server version', () => {
    expect(() => checkServerVersion('db', 'PostgreSQL 11.22')).toThrow(/runs PostgreSQL 11\.22, which is too old: grok2api needs PostgreSQL 12 or newer/);
    expect(() => checkServerVersion('db', 'MariaDB 10.6.18-MariaDB')).toThrow(/MariaDB 10\.11 or newer/);
    expect(() => checkServerVersion('db', 'MySQL 5.7.44')).toThrow(/MySQL 8\.0 or newer/);
    for (const ok of ['PostgreSQL 15.20 (Debian 15.20-0+deb12u1)', 'MariaDB 10.11.19-MariaDB-0+deb12u1', 'MySQL 8.0.36', 'MariaDB 11.4.2-MariaDB']) checkServerVersion('db', ok);
    void migrate;
  });
}
