/**
 * Usage figures and the recent-request log shared through SQL (storage types pgsql and mysql):
 * the same figures, retention and buffering as the Redis implementation (../../stats/redis-stats.ts).
 * `record` only adds to an in-memory buffer; a timer flushes it every `flushMs` in one transaction
 * that locks the `stats` state row (so the cap on distinct models/accounts/keys holds across
 * instances and the log keeps one order). Each flush carries an id, recorded in the same
 * transaction: a batch whose commit reply was lost is resent and applied once.
 *
 * Rows: stats_buckets (kind `h`/`d`/`t` = hour, day, all-time total; hour and day rows expire
 * like the Redis keys), stats_dims (`models`/`accounts`/`keys` × id), request_log (auto-increment
 * id = order), stats_flushes (applied flush ids, kept an hour).
 */
import { randomUUID } from 'node:crypto';
import { PendingStats } from '../../stats/pending.js';
import { buildSnapshot, DAY, DIMENSIONS, empty, HOUR, merge, KEEP_DAYS, KEEP_HOURS, MAX_DIMENSION, METRICS, OTHER, type Bucket, type Dimension, type LogEntry, type StatsSnapshot, type StatsStore } from '../../stats/types.js';
import { marks, num, type SqlConn } from './db.js';
import type { SqlStore } from './sql-store.js';

export interface SqlStatsOptions {
  logSize: number;
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
  logSize: number;
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
  private logSize: number;

  constructor(
    private readonly store: SqlStore,
    private readonly opts: SqlStatsOptions,
  ) {
    this.logSize = opts.logSize;
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
    this.logSize = logSize;
    this.trim = true;
  }

  /** Writes the buffered increments; resolves false (never rejects) when they were kept for the next attempt. */
  flush(): Promise<boolean> {
    const run = this.chain.then(() => this.flushOnce());
    this.chain = run;
    return run;
  }

  async recent(limit: number): Promise<LogEntry[]> {
    await this.flush();
    const n = Math.min(limit, this.logSize);
    if (n <= 0) return [];
    const rows = (await this.store.db.query(`SELECT data FROM ${this.store.t.requestLog} ORDER BY id DESC LIMIT ${Math.floor(n)}`)).rows;
    const out: LogEntry[] = [];
    for (const r of rows) {
      try {
        out.push(JSON.parse(String(r.data)) as LogEntry);
      } catch {
        // A damaged entry: skip it rather than fail the whole log.
      }
    }
    return out;
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
      for (const table of [t.statsBuckets, t.statsDims, t.requestLog]) await c.query(`DELETE FROM ${table}`);
    });
  }

  private async flushOnce(): Promise<boolean> {
    if (this.unsure) {
      const again = this.unsure;
      this.unsure = null; // `send` keeps it again if the connection fails once more
      if (!(await this.send(again))) return false;
    }
    if (this.pending.isEmpty && !this.trim) return true;
    const batch: Batch = { id: randomUUID(), stats: this.pending, logSize: this.logSize, trim: this.trim };
    this.pending = new PendingStats();
    this.trim = false;
    return this.send(batch);
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
    const now = Date.now();
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

    const log = s.logTail(batch.logSize);
    // Oldest first, one statement: the ids keep the order.
    if (log.length > 0) await c.query(`INSERT INTO ${t.requestLog} (data) VALUES ${log.map(() => '(?)').join(', ')}`, log.map((e) => JSON.stringify(e)));
    if (log.length > 0 || batch.trim) {
      if (batch.logSize <= 0) await c.query(`DELETE FROM ${t.requestLog}`);
      else {
        // The oldest entry kept (ids may have gaps, so counted, not computed).
        const oldest = (await c.query(`SELECT id FROM ${t.requestLog} ORDER BY id DESC LIMIT 1 OFFSET ${Math.floor(batch.logSize) - 1}`)).rows[0];
        if (oldest) await c.query(`DELETE FROM ${t.requestLog} WHERE id < ?`, [oldest.id]);
      }
    }
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
