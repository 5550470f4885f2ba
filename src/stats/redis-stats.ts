/**
 * Usage figures and the recent-request log shared by every instance on one Redis (storage type
 * redis), so the admin console shows what all of them served. Same figures and retention as the
 * local `Stats`:
 *   `{p}:stats:h:<hour>` / `{p}:stats:d:<day>`  hashes total/success/failed/ms/tokens/cost/cost_estimated, expiring
 *                                             KEEP_HOURS hours / KEEP_DAYS days after their period;
 *   `{p}:stats:total`                          the all-time hash (no expiry, like the local total);
 *   `{p}:stats:models|accounts|keys`           all-time hashes of `<metric>:<id>` (capped ids);
 *   `{p}:stats:logz`                           the request log: a sorted set of `<time>:<seq>:<JSON>` members
 *                                             (all score 0, so ranges by text are ranges by time), trimmed
 *                                             to log.recent_requests and log.retention_days on each flush;
 *   `{p}:stats:logseq`                         the counter that numbers log entries;
 *   `{p}:stats:ku:<day>`                       per-key usage that day: `<metric>:<key id>` fields, expiring
 *                                             log.usage_days after the day; `{p}:stats:kn` key id → name.
 * (`{p}:stats:log`, the list an older version kept, is moved into the sorted set at start.)
 *
 * `record` only adds to an in-memory buffer; a timer flushes it every `flushMs` in one Lua script
 * (../store/redis/lua/stats.ts), so the request path never waits on Redis. A flush that cannot
 * reach Redis is resent unchanged before anything newer (applied once, by its flush id), while
 * new increments wait in a bounded buffer (./pending.ts). Reads flush first
 * (an admin sees their own instance's last second) and then aggregate from Redis; while Redis is
 * down they fail with 503 `store_unavailable` like every other store read.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isConnectionError, storeUnavailable } from '../store/redis/connection.js';
import type { RedisKeys } from '../store/redis/keys.js';
import { STATS_FLUSH_LUA } from '../store/redis/lua/stats.js';
import { LOG_PER_FLUSH, PendingStats, splitLog } from './pending.js';
import { ageCutoff, DEFAULT_RETENTION, matches, USAGE_METRICS, emptyUsage, usageRow, byDayThenKey, type KeyUsageDay, type LogPage, type LogQuery, type Retention, type UsageBucket, type UsageQuery } from './log-query.js';
import {
  buildSnapshot,
  DAY,
  DIMENSIONS,
  empty,
  HOUR,
  KEEP_DAYS,
  KEEP_HOURS,
  MAX_DIMENSION,
  METRICS,
  OTHER,
  type Bucket,
  type Dimension,
  type LogEntry,
  type StatsSnapshot,
  type StatsStore,
} from './types.js';

export interface RedisStatsOptions {
  logSize: number;
  retentionDays?: number;
  usageDays?: number;
  now?: () => number;
  /** How often buffered increments are written (ms); 0 = only on read/close/`flush()` (tests). */
  flushMs?: number;
  /** Told when flushing starts failing (once per outage) or a flush is rejected by Redis. */
  onError?: (err: unknown) => void;
}

export class RedisStats implements StatsStore {
  private pending = new PendingStats();
  /**
   * A batch whose flush failed on the connection: Redis may or may not have applied it (a reply
   * lost to a timeout), so it is resent as is, under the same flush id, before anything newer;
   * the script applies a flush id once (STATS_FLUSH_LUA), so nothing is counted twice.
   */
  private unsure: { keys: string[]; args: (string | number)[] } | null = null;
  /** A resize must reach Redis (LTRIM) even when nothing was recorded. */
  private trim = false;
  private chain: Promise<unknown> = Promise.resolve();
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private retention: Retention;
  private lastTrim = 0;
  private readonly now: () => number;
  private readonly k: {
    total: string;
    log: string;
    logz: string;
    seq: string;
    names: string;
    dims: Record<Dimension, string>;
    hour: (i: number) => string;
    day: (i: number) => string;
    usage: (day: number) => string;
    applied: (id: string) => string;
  };

  constructor(
    private readonly client: Redis,
    keys: RedisKeys,
    private readonly label: string,
    private readonly opts: RedisStatsOptions,
  ) {
    this.retention = { maxEntries: opts.logSize, retentionDays: opts.retentionDays ?? DEFAULT_RETENTION.retentionDays, usageDays: opts.usageDays ?? DEFAULT_RETENTION.usageDays };
    this.now = opts.now ?? Date.now;
    this.k = {
      total: keys.key('stats', 'total'),
      log: keys.key('stats', 'log'),
      logz: keys.key('stats', 'logz'),
      seq: keys.key('stats', 'logseq'),
      names: keys.key('stats', 'kn'),
      usage: (day) => keys.key('stats', 'ku', String(day)),
      dims: { models: keys.key('stats', 'models'), accounts: keys.key('stats', 'accounts'), keys: keys.key('stats', 'keys') },
      hour: (i) => keys.key('stats', 'h', String(i)),
      day: (i) => keys.key('stats', 'd', String(i)),
      applied: (id) => keys.key('stats', 'applied', id),
    };
  }

  private get logSize(): number {
    return this.retention.maxEntries;
  }

  /** The connection belongs to the account store, which opens it (and closes it after us). */
  async init(): Promise<void> {
    await this.adoptListLog();
    if (this.opts.flushMs === 0) return;
    this.timer = setInterval(() => void this.flush(), this.opts.flushMs ?? 1000);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  record(e: LogEntry): void {
    this.pending.record(e, this.logSize);
  }

  resize(logSize: number): void {
    if (logSize === this.logSize) return;
    this.setRetention({ ...this.retention, maxEntries: logSize });
  }

  setRetention(r: Retention): void {
    this.retention = { ...r };
    this.trim = true;
  }

  /**
   * The log list an older version kept (`stats:log`, newest first) becomes part of the sorted
   * set: renamed first, so of several instances starting together exactly one takes it.
   */
  private async adoptListLog(): Promise<void> {
    const tmp = `${this.k.log}:adopt:${randomUUID()}`;
    try {
      await this.client.rename(this.k.log, tmp);
    } catch {
      return; // no list (or another instance took it)
    }
    const rows = await this.client.lrange(tmp, 0, -1);
    const old: LogEntry[] = [];
    for (const row of rows.reverse()) {
      try {
        old.push(JSON.parse(row) as LogEntry);
      } catch {
        // damaged: skip
      }
    }
    this.pending.log = [...old, ...this.pending.log];
    await this.client.del(tmp);
  }

  /**
   * Writes the buffered increments; resolves false (never rejects) when they were kept for the
   * next attempt. Flushes run one at a time, in order.
   */
  flush(): Promise<boolean> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run;
    return run;
  }

  async recent(limit: number): Promise<LogEntry[]> {
    return (await this.queryLog({ limit: Math.min(limit, this.logSize) })).entries;
  }

  /**
   * Walks the sorted set from the newest member in range down in chunks, filtering in process
   * (members are ordered by time, so a time range and the cursor are lexicographic bounds).
   */
  async queryLog(q: LogQuery): Promise<LogPage> {
    await this.flush();
    if (q.limit <= 0 || this.logSize <= 0) return { entries: [], next: null };
    let max = '+';
    if (q.before) max = `(${pad(q.before.time, 13)}:${pad(q.before.seq, 12)}:`;
    if (q.to !== undefined && (!q.before || q.to + 1 <= q.before.time)) max = `(${pad(q.to + 1, 13)}:`;
    const cutoff = ageCutoff(this.retention, this.now());
    const fromT = Math.max(q.from ?? 0, cutoff);
    const min = fromT > 0 ? `[${pad(fromT, 13)}:` : '-';
    const out: { e: LogEntry; time: number; seq: number }[] = [];
    // Chunks grow while a rare filter finds little (fewer round trips over a large log).
    let chunk = Math.min(1000, Math.max(100, q.limit * 4));
    for (;;) {
      const rows = await this.run(() => this.client.zrevrangebylex(this.k.logz, max, min, 'LIMIT', 0, chunk));
      for (const row of rows) {
        const e = parseMember(row);
        if (!e || !matches(e.e, q)) continue;
        out.push(e);
        if (out.length > q.limit) break;
      }
      if (out.length > q.limit || rows.length < chunk) break;
      max = `(${rows.at(-1)!.slice(0, 27)}`;
      chunk = Math.min(10_000, chunk * 2);
    }
    const page = out.slice(0, q.limit);
    const last = page.at(-1);
    return { entries: page.map((x) => x.e), next: out.length > q.limit && last ? { time: last.time, seq: last.seq } : null };
  }

  async keyUsage(q: UsageQuery): Promise<KeyUsageDay[]> {
    await this.flush();
    const first = Math.max(q.fromDay, Math.floor(this.now() / DAY) - this.retention.usageDays);
    const days: number[] = [];
    for (let d = first; d <= q.toDay && days.length < 3660; d++) days.push(d);
    const replies = await this.run(async () => {
      const res = (await this.client.pipeline([...days.map((d) => ['hgetall', this.k.usage(d)]), ['hgetall', this.k.names]]).exec()) ?? [];
      return res.map(([err, value]) => {
        if (err) throw err;
        return value as Record<string, string>;
      });
    });
    const names = replies.at(-1) ?? {};
    const out: KeyUsageDay[] = [];
    days.forEach((day, i) => {
      const byKey = new Map<string, UsageBucket>();
      for (const [field, value] of Object.entries(replies[i] ?? {})) {
        const cut = field.indexOf(':');
        const metric = field.slice(0, cut) as (typeof USAGE_METRICS)[number];
        if (cut < 0 || !USAGE_METRICS.includes(metric)) continue;
        const id = field.slice(cut + 1);
        if (q.keyId !== undefined && id !== q.keyId) continue;
        let b = byKey.get(id);
        if (!b) byKey.set(id, (b = emptyUsage()));
        b[metric] = Number(value) || 0;
      }
      for (const [id, b] of byKey) out.push(usageRow(day, id, names[id] ?? null, b));
    });
    return out.sort(byDayThenKey);
  }

  async snapshot(now = Date.now()): Promise<StatsSnapshot> {
    await this.flush();
    const h = Math.floor(now / HOUR);
    const d = Math.floor(now / DAY);
    const hours = Array.from({ length: 24 }, (_, i) => h - 23 + i);
    const days = Array.from({ length: 7 }, (_, i) => d - 6 + i);
    const keys = [...hours.map(this.k.hour), ...days.map(this.k.day), this.k.total, ...DIMENSIONS.map((x) => this.k.dims[x])];
    const replies = await this.run(async () => {
      const res = (await this.client.pipeline(keys.map((key) => ['hgetall', key])).exec()) ?? [];
      return res.map(([err, value]) => {
        if (err) throw err;
        return value as Record<string, string>;
      });
    });
    const hourMap = new Map(hours.map((k, i) => [k, toBucket(replies[i]!)]));
    const dayMap = new Map(days.map((k, i) => [k, toBucket(replies[24 + i]!)]));
    const dims = Object.fromEntries(DIMENSIONS.map((x, i) => [x, toDimension(replies[32 + i]!)])) as Record<Dimension, Map<string, Bucket>>;
    return buildSnapshot({ hour: (k) => hourMap.get(k), day: (k) => dayMap.get(k), total: toBucket(replies[31]!), dims }, now);
  }

  /** Forgets everything, on every instance (buckets within retention are named, no KEYS/SCAN). */
  async reset(): Promise<void> {
    this.pending = new PendingStats();
    const h = Math.floor(Date.now() / HOUR);
    const d = Math.floor(Date.now() / DAY);
    const keys = [this.k.total, this.k.log, this.k.logz, this.k.names, ...DIMENSIONS.map((x) => this.k.dims[x])];
    for (let i = h - KEEP_HOURS - 1; i <= h + 1; i++) keys.push(this.k.hour(i));
    for (let i = d - KEEP_DAYS - 1; i <= d + 1; i++) keys.push(this.k.day(i));
    for (let i = d - this.retention.usageDays - 1; i <= d + 1; i++) keys.push(this.k.usage(i));
    await this.run(() => this.client.del(...keys));
  }

  private async flushOnce(): Promise<boolean> {
    if (this.unsure) {
      const again = this.unsure;
      this.unsure = null; // `send` keeps it again if the connection fails once more
      if (!(await this.send(again))) return false;
    }
    // Age retention holds with no traffic too: a trim-only flush at least once a minute.
    if (this.retention.retentionDays > 0 && this.now() - this.lastTrim > 60_000) this.trim = true;
    if (this.pending.isEmpty && !this.trim) return true;
    this.lastTrim = this.now();
    // A long script would hold up Redis for every instance: at most LOG_PER_FLUSH log entries
    // per script, the rest (oldest first) in the scripts that follow.
    let stats = this.pending;
    this.pending = new PendingStats();
    let rest = splitLog(stats, this.logSize);
    let ok = await this.send(this.encode(stats));
    this.trim = false;
    while (ok && rest.length > 0) {
      stats = new PendingStats();
      stats.log = rest.slice(0, LOG_PER_FLUSH);
      rest = rest.slice(LOG_PER_FLUSH);
      ok = await this.send(this.encode(stats));
    }
    // Not sent (Redis away): the entries wait, older than anything recorded since.
    if (rest.length > 0) this.pending.log = [...rest, ...this.pending.log];
    return ok;
  }

  /** Runs one flush script; false when it must be retried (kept in `unsure`) or was rejected. */
  private async send(batch: { keys: string[]; args: (string | number)[] }): Promise<boolean> {
    try {
      await this.client.eval(STATS_FLUSH_LUA, batch.keys.length, ...batch.keys, ...batch.args);
      this.failing = false;
      return true;
    } catch (err) {
      if (isConnectionError(err)) {
        // Redis is away (or the reply was lost): resend this very batch next time, report once per outage.
        this.unsure = batch;
        if (!this.failing) this.opts.onError?.(err);
        this.failing = true;
      } else {
        // Redis rejected the script itself: retrying the same batch would fail forever.
        this.opts.onError?.(err);
      }
      return false;
    }
  }

  private encode(batch: PendingStats): { keys: string[]; args: (string | number)[] } {
    const keys = [this.k.total, this.k.dims.models, this.k.dims.accounts, this.k.dims.keys, this.k.logz, this.k.seq, this.k.names];
    const buckets: (string | number)[] = [];
    for (const [i, b] of batch.hours) {
      keys.push(this.k.hour(i));
      buckets.push((i + 1 + KEEP_HOURS) * HOUR, ...nums(b));
    }
    for (const [i, b] of batch.days) {
      keys.push(this.k.day(i));
      buckets.push((i + 1 + KEEP_DAYS) * DAY, ...nums(b));
    }
    const dims: (string | number)[] = [];
    let nd = 0;
    DIMENSIONS.forEach((x, di) => {
      for (const [id, b] of batch.dims[x]) {
        dims.push(di + 1, id, ...nums(b));
        nd++;
      }
    });
    const log = batch.logTail(this.logSize).flatMap((e) => [`${pad(e.time, 13)}:`, JSON.stringify(e)]);
    const byDay = new Map<number, (string | number)[][]>();
    for (const x of batch.usage.entries()) {
      let list = byDay.get(x.day);
      if (!list) byDay.set(x.day, (list = []));
      list.push([x.keyId, x.name ?? '', ...USAGE_METRICS.map((m) => x.b[m])]);
    }
    const usage: (string | number)[] = [];
    for (const [day, list] of byDay) {
      keys.push(this.k.usage(day));
      // A time to live (not an expiry time) so the stats clock, not Redis's, decides.
      usage.push(Math.max(1000, (day + 1 + this.retention.usageDays) * DAY - this.now()), list.length, ...list.flat());
    }
    const cutoff = ageCutoff(this.retention, this.now());
    const head = [this.logSize, MAX_DIMENSION, OTHER, batch.hours.size + batch.days.size, nd, log.length / 2, cutoff > 0 ? pad(cutoff, 13) : '', byDay.size, ...nums(batch.total)];
    // Last key: this flush's mark, so a resent batch is applied once.
    keys.push(this.k.applied(randomUUID()));
    return { keys, args: [...head, ...buckets, ...dims, ...log, ...usage] };
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw storeUnavailable(this.label);
      throw err;
    }
  }
}

const pad = (n: number, width: number) => String(Math.max(0, Math.floor(n))).padStart(width, '0');

/** `<13-digit time>:<12-digit seq>:<JSON>` → the entry and its order; null when damaged. */
function parseMember(row: string): { e: LogEntry; time: number; seq: number } | null {
  if (row.length < 28 || row[13] !== ':' || row[26] !== ':') return null;
  try {
    return { e: JSON.parse(row.slice(27)) as LogEntry, time: Number(row.slice(0, 13)), seq: Number(row.slice(14, 26)) };
  } catch {
    return null;
  }
}

const nums = (b: Bucket) => METRICS.map((m) => b[m] ?? 0);

function toBucket(h: Record<string, string>): Bucket {
  const b = empty();
  for (const m of METRICS) b[m] = Number(h[m] ?? 0) || 0;
  return b;
}

/** `<metric>:<id>` fields → id → bucket (metric names hold no colon; ids may). */
function toDimension(h: Record<string, string>): Map<string, Bucket> {
  const out = new Map<string, Bucket>();
  for (const [field, value] of Object.entries(h)) {
    const cut = field.indexOf(':');
    const metric = field.slice(0, cut) as (typeof METRICS)[number];
    if (cut < 0 || !METRICS.includes(metric)) continue;
    const id = field.slice(cut + 1);
    let b = out.get(id);
    if (!b) out.set(id, (b = empty()));
    b[metric] = Number(value) || 0;
  }
  return out;
}
