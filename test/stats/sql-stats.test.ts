/** The shared statistics on PostgreSQL and MariaDB: the same figures as one local instance, across instances. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeUnavailable } from '../../src/store/sql/db.js';
import { SqlStats } from '../../src/store/sql/sql-stats.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { Stats } from '../../src/stats/stats.js';
import type { LogEntry } from '../../src/stats/types.js';
import { assertDatabaseUp, DIALECTS, dropTables, openTestStore, uniqueTablePrefix, wipe } from '../sql/helpers.js';

const base = Date.now();
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

for (const dialect of DIALECTS) {
  describe(`stats shared through ${dialect}`, () => {
    const prefix = uniqueTablePrefix(`stats${dialect}`);
    let one: SqlStore;
    let two: SqlStore;
    beforeAll(async () => {
      await assertDatabaseUp(dialect);
      [one, two] = [await openTestStore(dialect, prefix), await openTestStore(dialect, prefix)];
    });
    afterAll(async () => {
      await one?.close();
      await two?.close();
      await dropTables(dialect, prefix);
    });

    it('two instances record separately and both read the combined figures and log', async () => {
      await wipe(one);
      const a = new SqlStats(one, { logSize: 4, flushMs: 0 });
      const b = new SqlStats(two, { logSize: 4, flushMs: 0 });
      const local = new Stats({ dataDir: null, logSize: 4, persistMs: 0 });
      const onA = [entry(0), entry(1, { status: 502, tokens: null }), entry(2, { account: 'acc:2', cost: 0.000396, costEstimated: true })];
      const onB = [entry(3, { model: 'grok-4', key: 'k2', cost: 0.25 }), entry(4, { model: 'grok-4', key: null, account: null })];
      for (const e of onA) a.record(e);
      for (const e of onB) b.record(e);
      for (const e of [...onA, ...onB]) local.record(e);
      expect(await a.flush()).toBe(true);
      expect(await b.flush()).toBe(true);
      for (const s of [a, b]) {
        expect(await s.snapshot(base)).toEqual(local.snapshot(base));
        // Costs add up exactly (micro-USD integers) per key and per credential.
        expect((await s.snapshot(base)).summary.cost_usd).toBe(0.250396);
        expect((await s.snapshot(base)).accounts.find((x) => x.account_id === 'acc:2')!.cost_usd).toBe(0.000396);
        // The part priced on estimated counts (grok.com turns) is a counter of its own.
        expect((await s.snapshot(base)).summary.cost_estimated_usd).toBe(0.000396);
        expect((await s.recent(100)).find((e) => e.time - base === 2)!.costEstimated).toBe(true);
        expect((await s.recent(100)).map((e) => e.time - base)).toEqual([4, 3, 2, 1]);
        expect(await s.recent(2)).toEqual(local.recent(2));
      }
      a.resize(2);
      b.resize(2);
      expect((await a.recent(100)).map((e) => e.time - base)).toEqual([4, 3]);
      await b.reset();
      expect((await a.snapshot(base)).summary.total).toBe(0);
    });

    it('a flush whose commit reply was lost is resent and counted once; an outage keeps the increments', async () => {
      await wipe(one);
      const errors: unknown[] = [];
      const s = new SqlStats(one, { logSize: 10, flushMs: 0, onError: (e) => errors.push(e) });
      const other = new SqlStats(two, { logSize: 10, flushMs: 0 });
      const realTx = one.db.tx.bind(one.db);
      let mode: 'lose-reply' | 'down' | 'ok' = 'lose-reply';
      one.db.tx = (async (fn: Parameters<typeof realTx>[0]) => {
        if (mode === 'down') throw storeUnavailable(one.label);
        const r = await realTx(fn);
        if (mode === 'lose-reply') {
          mode = 'ok';
          throw storeUnavailable(one.label);
        }
        return r;
      }) as typeof one.db.tx;
      try {
        s.record(entry(0));
        s.record(entry(1));
        expect(await s.flush()).toBe(false);
        s.record(entry(2));
        expect(await s.flush()).toBe(true);
        expect((await other.snapshot(base)).summary.total).toBe(3);
        mode = 'down';
        s.record(entry(3, { status: 429 }));
        expect(await s.flush()).toBe(false);
        expect(await s.flush()).toBe(false);
        expect(errors).toHaveLength(2); // the lost reply, then once for the whole outage
        mode = 'ok';
        expect(await s.flush()).toBe(true);
        const snap = await other.snapshot(base);
        expect(snap.summary).toMatchObject({ total: 4, success: 3, failed: 1 });
        expect((await other.recent(10)).map((e) => e.time - base)).toEqual([3, 2, 1, 0]);
      } finally {
        one.db.tx = realTx;
      }
    });

    it('caps distinct models across instances, summing the rest under (other)', async () => {
      await wipe(one);
      const a = new SqlStats(one, { logSize: 0, flushMs: 0 });
      const b = new SqlStats(two, { logSize: 0, flushMs: 0 });
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
      expect(await a.recent(10)).toEqual([]);
    });
  });
}
