/**
 * Usage figures and the recent-request log shared through SQL (storage types pgsql and mysql):
 * the same figures, retention and buffering as the Redis implementation (../../stats/redis-stats.ts).
 * `record` only adds to an in-memory buffer; a timer flushes it every `flushMs` in one transaction
 * that locks the `stats` state row (so the cap on distinct models/accounts/keys holds across
 * instances and the log keeps one order). Each flush carries an id, recorded in the same
 * transaction: a batch whose commit reply was lost is resent and applied once.
 *
 * Rows: stats_buckets (kind `h`/`d`/`t` = hour, day, all-time total; hour and day rows expire
 * like the Redis keys), stats_dims (`models`/`accounts`/`keys` × id), request_log (the entry as
 * JSON plus the columns the filters read; ordered by (time_ms, id), trimmed to log.recent_requests
 * and log.retention_days on each flush), key_usage_days (per key per UTC day, dropped after
 * log.usage_days), stats_flushes (applied flush ids, kept an hour).
 */
import { randomUUID } from 'node:crypto';
import { LOG_PER_FLUSH, PendingStats, splitLog } from '../../stats/pending.js';
import { buildSnapshot, DAY, DIMENSIONS, empty, HOUR, merge, KEEP_DAYS, KEEP_HOURS, MAX_DIMENSION, METRICS, OTHER, type Bucket, type Dimension, type LogEntry, type StatsSnapshot, type StatsStore } from '../../stats/types.js';
import { ageCutoff, byDayThenKey, DEFAULT_RETENTION, emptyUsage, MAX_FIELD, USAGE_METRICS, usageRow, type KeyUsageDay, type LogPage, type LogQuery, type Retention, type UsageQuery } from '../../stats/log-query.js';
import { marks, num, type SqlConn } from './db.js';
import type { SqlStore } from './sql-store.js';

export interface SqlStatsOptions {
  logSize: number;
  retentionDays?: number;
  usageDays?: number;
  now?: () => number;
  /** How often buffered increments are written (ms); 0 = only on read/close/`flush()` (tests). */
  flushMs?: number;
  /** Told when flushing starts failing (once per outage) or a flush is rejected. */
  onError?: (err: unknown) => void;
}


/** Longest id kept per dimension (the column's size). */
const MAX_ID = 191;
/** Applied flush ids are remembered this long (a resend comes within seconds). */
const FLUSH_ID_TTL = HOUR;

interface Batch {
  id: string;
  stats: PendingStats;
  retention: Retention;
  trim: boolean;
}

export class SqlStats implements StatsStore {
  private pending = new PendingStats();
  /** A batch whose flush failed on the connection: resent as is, before anything newer. */
  private unsure: Batch | null = null;
  private trim = false;
  private chain: Promise<unknown> = Promise.resolve();
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private retention: Retention;
  private lastTrim = 0;
  private readonly now: () => number;

  constructor(
    private readonly store: SqlStore,
    private readonly opts: SqlStatsOptions,
  ) {
    this.retention = { maxEntries: opts.logSize, retentionDays: opts.retentionDays ?? DEFAULT_RETENTION.retentionDays, usageDays: opts.usageDays ?? DEFAULT_RETENTION.usageDays };
    this.now = opts.now ?? Date.now;
  }

  private get logSize(): number {
    return this.retention.maxEntries;
  }

  async init(): Promise<void> {
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

  /** Writes the buffered increments; resolves false (never rejects) when they were kept for the next attempt. */
  flush(): Promise<boolean> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run;
    return run;
  }

  async recent(limit: number): Promise<LogEntry[]> {
    return (await this.queryLog({ limit: Math.min(limit, this.logSize) })).entries;
  }

  async queryLog(q: LogQuery): Promise<LogPage> {
    await this.flush();
    if (q.limit <= 0 || this.logSize <= 0) return { entries: [], next: null };
    const where: string[] = [];
    const args: unknown[] = [];
    const from = Math.max(q.from ?? 0, ageCutoff(this.retention, this.now()));
    if (from > 0) where.push('time_ms >= ?') && args.push(from);
    if (q.to !== undefined) where.push('time_ms <= ?') && args.push(q.to);
    const eq = (col: string, v: string | undefined) => v !== undefined && where.push(`${col} = ?`) && args.push(v.slice(0, MAX_FIELD));
    eq('model', q.model);
    eq('key_id', q.keyId);
    eq('account', q.account);
    eq('route', q.route);
    if (q.status) where.push('status BETWEEN ? AND ?') && args.push(q.status.min, q.status.max);
    if (q.before) where.push('(time_ms < ? OR (time_ms = ? AND id < ?))') && args.push(q.before.time, q.before.time, q.before.seq);
    const rows = (
      await this.store.db.query(
        `SELECT id, time_ms, data FROM ${this.store.t.requestLog}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY time_ms DESC, id DESC LIMIT ${Math.floor(q.limit) + 1}`,
        args,
      )
    ).rows;
    const out: { e: LogEntry; time: number; seq: number }[] = [];
    for (const r of rows.slice(0, q.limit)) {
      try {
        out.push({ e: JSON.parse(String(r.data)) as LogEntry, time: num(r.time_ms), seq: num(r.id) });
      } catch {
        // A damaged entry: skip it rather than fail the whole log.
      }
    }
    const last = out.at(-1);
    return { entries: out.map((x) => x.e), next: rows.length > q.limit && last ? { time: last.time, seq: last.seq } : null };
  }

  async keyUsage(q: UsageQuery): Promise<KeyUsageDay[]> {
    await this.flush();
    const first = Math.max(q.fromDay, Math.floor(this.now() / DAY) - this.retention.usageDays);
    const args: unknown[] = [first, q.toDay];
    if (q.keyId !== undefined) args.push(q.keyId);
    const t = this.store.t;
    const rows = (await this.store.db.query(`SELECT * FROM ${t.keyUsage} WHERE day >= ? AND day <= ?${q.keyId !== undefined ? ' AND key_id = ?' : ''}`, args)).rows;
    // Every row shows the key's latest name (the one of its newest day with a name).
    const ids = [...new Set(rows.map((r) => String(r.key_id)))];
    const names = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const named = (await this.store.db.query(`SELECT key_id, key_name FROM ${t.keyUsage} WHERE key_name IS NOT NULL AND key_id IN (${marks(chunk.length)}) ORDER BY day`, chunk)).rows;
      for (const r of named) names.set(String(r.key_id), String(r.key_name));
    }
    return rows
      .map((r) => {
        const b = emptyUsage();
        for (const m of USAGE_METRICS) b[m] = num(r[m]);
        const id = String(r.key_id);
        return usageRow(num(r.day), id, names.get(id) ?? (r.key_name == null ? null : String(r.key_name)), b);
      })
      .sort(byDayThenKey);
  }

  async snapshot(now = Date.now()): Promise<StatsSnapshot> {
    await this.flush();
    const t = this.store.t;
    const h = Math.floor(now / HOUR);
    const d = Math.floor(now / DAY);
    const [buckets, dims] = await this.store.db.run(async (c) => [
      (await c.query(`SELECT * FROM ${t.statsBuckets} WHERE (kind = 'h' AND bucket > ?) OR (kind = 'd' AND bucket > ?) OR kind = 't'`, [h - 24, d - 7])).rows,
      (await c.query(`SELECT * FROM ${t.statsDims}`)).rows,
    ]);
    const hours = new Map<number, Bucket>();
    const days = new Map<number, Bucket>();
    let total = empty();
    for (const r of buckets) {
      if (r.kind === 'h') hours.set(num(r.bucket), toBucket(r));
      else if (r.kind === 'd') days.set(num(r.bucket), toBucket(r));
      else total = toBucket(r);
    }
    const byDim = Object.fromEntries(DIMENSIONS.map((x) => [x, new Map<string, Bucket>()])) as Record<Dimension, Map<string, Bucket>>;
    for (const r of dims) byDim[r.dim as Dimension]?.set(String(r.id), toBucket(r));
    return buildSnapshot({ hour: (k) => hours.get(k), day: (k) => days.get(k), total, dims: byDim }, now);
  }

  /** Forgets everything, on every instance. */
  async reset(): Promise<void> {
    this.pending = new PendingStats();
    const t = this.store.t;
    await this.store.db.tx(async (c) => {
      await c.query(`SELECT name FROM ${t.state} WHERE name = 'stats' FOR UPDATE`);
      for (const table of [t.statsBuckets, t.statsDims, t.requestLog, t.keyUsage]) await c.query(`DELETE FROM ${table}`);
    });
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
    // A long transaction would hold the stats row lock for every instance: at most LOG_PER_FLUSH
    // log entries per transaction, the rest (oldest first) in the ones that follow.
    let stats = this.pending;
    this.pending = new PendingStats();
    let rest = splitLog(stats, this.logSize);
    let ok = await this.send({ id: randomUUID(), stats, retention: { ...this.retention }, trim: this.trim });
    this.trim = false;
    while (ok && rest.length > 0) {
      stats = new PendingStats();
      stats.log = rest.slice(0, LOG_PER_FLUSH);
      rest = rest.slice(LOG_PER_FLUSH);
      ok = await this.send({ id: randomUUID(), stats, retention: { ...this.retention }, trim: false });
    }
    // Not sent (the database away): the entries wait, older than anything recorded since.
    if (rest.length > 0) this.pending.log = [...rest, ...this.pending.log];
    return ok;
  }

  private async send(batch: Batch): Promise<boolean> {
    try {
      await this.store.db.tx((c) => this.apply(c, batch));
      this.failing = false;
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'store_unavailable') {
        // The database is away (or the commit's reply was lost): resend this very batch next time.
        this.unsure = batch;
        if (!this.failing) this.opts.onError?.(err);
        this.failing = true;
      } else {
        // The database rejected the batch itself: retrying the same one would fail forever.
        this.opts.onError?.(err);
      }
      return false;
    }
  }

  private async apply(c: SqlConn, batch: Batch): Promise<void> {
    const t = this.store.t;
    const { proposed, onConflict } = this.store.db.sql;
    const now = this.now();
    await c.query(`SELECT name FROM ${t.state} WHERE name = 'stats' FOR UPDATE`);
    if ((await c.query(`SELECT id FROM ${t.statsFlushes} WHERE id = ?`, [batch.id])).rows.length > 0) return;
    await c.query(`INSERT INTO ${t.statsFlushes} (id, at) VALUES (?, ?)`, [batch.id, now]);
    await c.query(`DELETE FROM ${t.statsFlushes} WHERE at < ?`, [now - FLUSH_ID_TTL]);

    const add = METRICS.map((m) => `${m} = ${this.current(t.statsBuckets, m)} + ${proposed(m)}`);
    const upsertBucket = (kind: string, bucket: number, b: Bucket, expiresAt: number | null) =>
      c.query(`INSERT INTO ${t.statsBuckets} (kind, bucket, ${METRICS.join(', ')}, expires_at) VALUES (?, ?, ${marks(METRICS.length)}, ?) ${onConflict(['kind', 'bucket'], add)}`, [
        kind,
        bucket,
        ...METRICS.map((m) => b[m] ?? 0),
        expiresAt,
      ]);
    const s = batch.stats;
    if (s.total.total > 0) await upsertBucket('t', 0, s.total, null);
    for (const [i, b] of s.hours) await upsertBucket('h', i, b, (i + 1 + KEEP_HOURS) * HOUR);
    for (const [i, b] of s.days) await upsertBucket('d', i, b, (i + 1 + KEEP_DAYS) * DAY);
    await c.query(`DELETE FROM ${t.statsBuckets} WHERE expires_at IS NOT NULL AND expires_at <= ?`, [now]);

    const addDim = METRICS.map((m) => `${m} = ${this.current(t.statsDims, m)} + ${proposed(m)}`);
    for (const dim of DIMENSIONS) {
      if (s.dims[dim].size === 0) continue;
      const known = new Set((await c.query(`SELECT id FROM ${t.statsDims} WHERE dim = ?`, [dim])).rows.map((r) => String(r.id)));
      let count = known.size;
      const rows = new Map<string, Bucket>();
      for (const [rawId, b] of s.dims[dim]) {
        let id = rawId.slice(0, MAX_ID);
        // The cap holds across instances: a new id past it is summed under "(other)".
        if (!known.has(id)) {
          if (count >= MAX_DIMENSION) id = OTHER;
          else count++;
          known.add(id);
        }
        const sum = rows.get(id) ?? empty();
        merge(sum, b);
        rows.set(id, sum);
      }
      // Many rows per statement (one id at most once per statement, as PostgreSQL's upsert requires).
      const all = [...rows];
      for (let i = 0; i < all.length; i += 500) {
        const chunk = all.slice(i, i + 500);
        await c.query(
          `INSERT INTO ${t.statsDims} (dim, id, ${METRICS.join(', ')}) VALUES ${chunk.map(() => `(?, ?, ${marks(METRICS.length)})`).join(', ')} ${onConflict(['dim', 'id'], addDim)}`,
          chunk.flatMap(([id, b]) => [dim, id, ...METRICS.map((m) => b[m] ?? 0)]),
        );
      }
    }

    const logSize = batch.retention.maxEntries;
    const log = s.logTail(logSize);
    // Oldest first, one statement per chunk: among equal times the ids keep the order.
    const cut = (v: string | null | undefined) => (v == null ? null : v.slice(0, MAX_FIELD));
    for (let i = 0; i < log.length; i += 500) {
      const chunk = log.slice(i, i + 500);
      await c.query(
        `INSERT INTO ${t.requestLog} (data, time_ms, key_id, account, model, status, route) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((e) => [JSON.stringify(e), e.time, cut(e.keyId), cut(e.account), cut(e.model), e.status, cut(e.route)]),
      );
    }
    if (log.length > 0 || batch.trim) {
      if (logSize <= 0) await c.query(`DELETE FROM ${t.requestLog}`);
      else {
        const cutoff = ageCutoff(batch.retention, now);
        if (cutoff > 0) await c.query(`DELETE FROM ${t.requestLog} WHERE time_ms < ?`, [cutoff]);
        // The oldest entry kept by the size limit (ids may have gaps, so counted, not computed).
        const oldest = (await c.query(`SELECT time_ms, id FROM ${t.requestLog} ORDER BY time_ms DESC, id DESC LIMIT 1 OFFSET ${Math.floor(logSize) - 1}`)).rows[0];
        if (oldest) await c.query(`DELETE FROM ${t.requestLog} WHERE time_ms < ? OR (time_ms = ? AND id < ?)`, [oldest.time_ms, oldest.time_ms, oldest.id]);
      }
    }

    // Per-key usage per day: added up, the key's latest name kept.
    const usage = [...s.usage.entries()];
    const addUsage = [...USAGE_METRICS.map((m) => `${m} = ${this.current(t.keyUsage, m)} + ${proposed(m)}`), `key_name = COALESCE(${proposed('key_name')}, ${this.current(t.keyUsage, 'key_name')})`];
    for (let i = 0; i < usage.length; i += 500) {
      const chunk = usage.slice(i, i + 500);
      await c.query(
        `INSERT INTO ${t.keyUsage} (day, key_id, key_name, ${USAGE_METRICS.join(', ')}) VALUES ${chunk.map(() => `(?, ?, ?, ${marks(USAGE_METRICS.length)})`).join(', ')} ${onConflict(['day', 'key_id'], addUsage)}`,
        chunk.flatMap((x) => [x.day, x.keyId, x.name, ...USAGE_METRICS.map((m) => x.b[m])]),
      );
    }
    if (usage.length > 0 || batch.trim) await c.query(`DELETE FROM ${t.keyUsage} WHERE day < ?`, [Math.floor(now / DAY) - batch.retention.usageDays]);
  }

  /** The row's current value of `col` inside an upsert (PostgreSQL needs the table name). */
  private current(table: string, col: string): string {
    return this.store.db.dialect === 'pgsql' ? `${table}.${col}` : col;
  }
}

function toBucket(r: Record<string, unknown>): Bucket {
  const b = empty();
  for (const m of METRICS) b[m] = num(r[m]);
  return b;
}
