/**
 * The request log and per-key usage contract, run against every stats store (local, Redis,
 * PostgreSQL, MariaDB): filters, cursor pages, retention by size and age, usage per key per day.
 * The same cases must pass on all four.
 */
import { describe, expect, it } from 'vitest';
import type { LogQuery, Retention } from '../../src/stats/log-query.js';
import { DAY, type LogEntry, type StatsStore } from '../../src/stats/types.js';
import { manualClock, type Clock } from './store-contract.js';

/** A fresh, empty stats store on this clock with this retention; cleanup is the factory's business. */
export type StatsFactory = (clock: Clock, retention: Retention) => Promise<StatsStore>;

const RETAIN: Retention = { maxEntries: 1000, retentionDays: 30, usageDays: 90 };

export function statsContract(name: string, factory: StatsFactory): void {
  describe(`request log contract: ${name}`, () => {
    const t0 = manualClock().now();
    const entry = (i: number, over: Partial<LogEntry> = {}): LogEntry => ({
      time: t0 + i * 1000,
      method: 'POST',
      route: '/v1/chat/completions',
      model: 'grok-3',
      key: 'laptop',
      keyId: 'key_a',
      account: 'acc-1',
      status: 200,
      ms: 100,
      tokens: 30,
      promptTokens: 10,
      completionTokens: 20,
      ...over,
    });
    /** Every page of a query, following next cursors; also checks no page is longer than asked. */
    async function all(s: StatsStore, q: Omit<LogQuery, 'limit'>, limit: number): Promise<{ entries: LogEntry[]; pages: number }> {
      const entries: LogEntry[] = [];
      let before = q.before;
      for (let pages = 1; ; pages++) {
        const page = await s.queryLog({ ...q, before, limit });
        expect(page.entries.length).toBeLessThanOrEqual(limit);
        entries.push(...page.entries);
        if (!page.next) return { entries, pages };
        expect(page.entries.length).toBe(limit);
        before = page.next;
      }
    }
    const offs = (es: LogEntry[]) => es.map((e) => (e.time - t0) / 1000);

    it('filters by time, model, key, account, status and route, newest first', async () => {
      const clock = manualClock(t0 + 20_000);
      const s = await factory(clock, RETAIN);
      const recorded = [
        entry(0),
        entry(1, { model: 'grok-4', status: 429 }),
        entry(2, { keyId: 'key_b', key: 'ci', account: 'acc-2' }),
        entry(3, { route: '/v1/responses', status: 502 }),
        entry(4, { keyId: null, key: null, status: 401, account: null, model: null }),
        entry(5, { model: 'grok-4', keyId: 'key_b', key: 'ci', status: 200 }),
        entry(6, { status: 404, route: '/v1/messages' }),
      ];
      for (const e of recorded) s.record(e);
      expect(offs((await s.queryLog({ limit: 100 })).entries)).toEqual([6, 5, 4, 3, 2, 1, 0]);
      // The entries come back as they were recorded (no store-specific fields).
      expect((await s.queryLog({ limit: 1 })).entries[0]).toEqual(recorded[6]);
      const q = async (f: Omit<LogQuery, 'limit'>) => offs((await s.queryLog({ ...f, limit: 100 })).entries);
      expect(await q({ model: 'grok-4' })).toEqual([5, 1]);
      expect(await q({ keyId: 'key_b' })).toEqual([5, 2]);
      expect(await q({ account: 'acc-2' })).toEqual([2]);
      expect(await q({ route: '/v1/responses' })).toEqual([3]);
      expect(await q({ status: { min: 429, max: 429 } })).toEqual([1]);
      expect(await q({ status: { min: 400, max: 499 } })).toEqual([6, 4, 1]);
      expect(await q({ status: { min: 500, max: 599 } })).toEqual([3]);
      expect(await q({ from: t0 + 2000, to: t0 + 4000 })).toEqual([4, 3, 2]);
      expect(await q({ from: t0 + 5000 })).toEqual([6, 5]);
      expect(await q({ to: t0 + 1000 })).toEqual([1, 0]);
      expect(await q({ model: 'grok-4', keyId: 'key_b', status: { min: 200, max: 299 } })).toEqual([5]);
      expect(await q({ model: 'nope' })).toEqual([]);
      await s.close();
    });

    it('pages with a cursor: every entry once, also among equal times, filters kept', async () => {
      const clock = manualClock(t0 + 100_000);
      const s = await factory(clock, RETAIN);
      // 25 entries, five per second (equal times), every third one a 500.
      for (let i = 0; i < 25; i++) s.record({ ...entry(Math.floor(i / 5)), ms: i, status: i % 3 === 0 ? 500 : 200 });
      const { entries, pages } = await all(s, {}, 4);
      expect(pages).toBe(7);
      // Newest first; among equal times the later recorded first.
      expect(entries.map((e) => e.ms)).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
      const failed = await all(s, { status: { min: 500, max: 599 } }, 3);
      expect(failed.entries.map((e) => e.ms)).toEqual([24, 21, 18, 15, 12, 9, 6, 3, 0]);
      const ranged = await all(s, { from: t0 + 1000, to: t0 + 3000 }, 2);
      expect(ranged.entries.map((e) => e.ms)).toEqual(Array.from({ length: 15 }, (_, i) => 19 - i));
      // The last page says so; a page exactly at the end has no next.
      expect((await s.queryLog({ limit: 25 })).next).toBeNull();
      expect((await s.queryLog({ limit: 24 })).next).not.toBeNull();
      await s.close();
    });

    it('keeps a burst larger than one write (several flushes) whole and in order', async () => {
      const clock = manualClock(t0 + 100_000);
      const s = await factory(clock, { ...RETAIN, maxEntries: 10_000 });
      for (let i = 0; i < 4500; i++) s.record({ ...entry(0), time: t0 + i, ms: i });
      const { entries } = await all(s, {}, 1000);
      expect(entries).toHaveLength(4500);
      expect(entries.every((e, i) => e.ms === 4499 - i)).toBe(true);
      await s.close();
    });

    it('keeps at most log.recent_requests entries and none older than log.retention_days', async () => {
      const clock = manualClock(t0 + 10 * DAY);
      const s = await factory(clock, { maxEntries: 5, retentionDays: 3, usageDays: 90 });
      // Two entries 9 and 8 days old (past the age limit), then eight recent ones.
      s.record(entry(0));
      s.record(entry(DAY / 1000));
      for (let i = 0; i < 8; i++) s.record(entry(9 * 86_400 + i));
      expect(offs((await s.queryLog({ limit: 100 })).entries).map((x) => x - 9 * 86_400)).toEqual([7, 6, 5, 4, 3]);
      // Time passes: entries fall out by age with nothing new recorded. At t0 + 12 days + 5.5 s
      // the cutoff (3 days back) is t0 + 9 days + 5.5 s.
      clock.advance(t0 + 12 * DAY + 5500 - clock.now());
      expect(offs((await s.queryLog({ limit: 100 })).entries).map((x) => x - 9 * 86_400)).toEqual([7, 6]);
      // A smaller size applies at once; 0 keeps nothing.
      s.setRetention({ maxEntries: 1, retentionDays: 0, usageDays: 90 });
      expect(offs((await s.queryLog({ limit: 100 })).entries).map((x) => x - 9 * 86_400)).toEqual([7]);
      s.setRetention({ maxEntries: 0, retentionDays: 0, usageDays: 90 });
      s.record(entry(9 * 86_400 + 9));
      expect((await s.queryLog({ limit: 100 })).entries).toEqual([]);
      await s.close();
    });

    it('sums requests, prompt and completion tokens and cost per key per day (rows name the key by its latest name)', async () => {
      const clock = manualClock(t0 + 3 * DAY);
      const s = await factory(clock, RETAIN);
      const day0 = Math.floor(t0 / DAY);
      s.record(entry(0, { cost: 0.5 }));
      s.record(entry(1, { status: 500, promptTokens: 1, completionTokens: 0, tokens: 1, cost: 0.25, costEstimated: true }));
      s.record(entry(2, { keyId: 'key_b', key: 'ci', promptTokens: null, completionTokens: null, tokens: null }));
      s.record(entry(DAY / 1000, { key: 'laptop-renamed', cost: 0.125 }));
      s.record(entry(3, { keyId: null, key: null }));
      const rows = await s.keyUsage({ fromDay: day0 - 1, toDay: day0 + 5 });
      expect(rows).toEqual([
        { date: new Date(day0 * DAY).toISOString().slice(0, 10), key_id: 'key_a', key_name: 'laptop-renamed', requests: 2, success: 1, failed: 1, prompt_tokens: 11, completion_tokens: 20, tokens: 31, cost_usd: 0.75, cost_estimated_usd: 0.25 },
        { date: new Date(day0 * DAY).toISOString().slice(0, 10), key_id: 'key_b', key_name: 'ci', requests: 1, success: 1, failed: 0, prompt_tokens: 0, completion_tokens: 0, tokens: 0, cost_usd: 0, cost_estimated_usd: 0 },
        { date: new Date((day0 + 1) * DAY).toISOString().slice(0, 10), key_id: 'key_a', key_name: 'laptop-renamed', requests: 1, success: 1, failed: 0, prompt_tokens: 10, completion_tokens: 20, tokens: 30, cost_usd: 0.125, cost_estimated_usd: 0 },
      ]);
      expect((await s.keyUsage({ fromDay: day0 + 1, toDay: day0 + 1 })).map((r) => r.key_id)).toEqual(['key_a']);
      expect((await s.keyUsage({ fromDay: day0 - 1, toDay: day0 + 5, keyId: 'key_b' })).map((r) => r.requests)).toEqual([1]);
      // log.usage_days: days older than that are no longer reported.
      s.setRetention({ ...RETAIN, usageDays: 2 });
      expect((await s.keyUsage({ fromDay: day0 - 1, toDay: day0 + 5 })).map((r) => r.date)).toEqual([new Date((day0 + 1) * DAY).toISOString().slice(0, 10)]);
      await s.close();
    });
  });
}
