/**
 * Usage figures and the recent-request log for the admin console. In memory (one `record` per
 * finished client request: a few Map updates, no I/O), persisted to `<dataDir>/stats.json`
 * every `persistMs` and on close, so a restart keeps the history. Per instance: with storage
 * type redis, bootstrap uses ./redis-stats.ts instead so every instance reports the combined figures.
 *
 * Nothing here ever holds a prompt, an answer, a token or a key: entries carry the route, model,
 * key *name*, account *id*, status, duration and token count only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { add, buildSnapshot, DAY, empty, HOUR, KEEP_DAYS, KEEP_HOURS, MAX_DIMENSION, OTHER, type Bucket, type Dimension, type LogEntry, type StatsStore } from './types.js';

export type { LogEntry } from './types.js';

export class Stats implements StatsStore {
  private hourly = new Map<number, Bucket>();
  private daily = new Map<number, Bucket>();
  private dims: Record<Dimension, Map<string, Bucket>> = { models: new Map(), accounts: new Map(), keys: new Map() };
  private total = empty();
  private log: LogEntry[] = [];
  /** Next write position in `log` once it is full (ring buffer). */
  private head = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly file: string | null;

  constructor(private readonly opts: { dataDir: string | null; logSize: number; persistMs?: number; onError?: (err: unknown) => void }) {
    this.file = opts.dataDir ? join(opts.dataDir, 'stats.json') : null;
  }

  async init(): Promise<void> {
    if (this.file) {
      try {
        const data = JSON.parse(await readFile(this.file, 'utf8')) as Persisted;
        this.hourly = new Map(data.hourly);
        this.daily = new Map(data.daily);
        for (const d of ['models', 'accounts', 'keys'] as const) this.dims[d] = new Map(data[d]);
        this.total = data.total ?? empty();
        for (const e of (data.log ?? []).slice(-this.opts.logSize)) this.pushLog(e);
      } catch {
        // Missing or unreadable: statistics start afresh (they are not worth refusing to start over).
      }
    }
    if (this.file && this.opts.persistMs !== 0) {
      this.timer = setInterval(() => void this.persist(), this.opts.persistMs ?? 30_000);
      this.timer.unref();
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.persist();
  }

  record(e: LogEntry): void {
    const h = Math.floor(e.time / HOUR);
    const d = Math.floor(e.time / DAY);
    add(this.bucket(this.hourly, h), e);
    add(this.bucket(this.daily, d), e);
    add(this.total, e);
    if (e.model) add(this.dimBucket('models', e.model), e);
    if (e.account) add(this.dimBucket('accounts', e.account), e);
    if (e.key) add(this.dimBucket('keys', e.key), e);
    this.pushLog(e);
    this.dirty = true;
    // Drop buckets that fell out of the kept range (cheap: at most one per hour).
    if (this.hourly.size > KEEP_HOURS + 1) for (const k of this.hourly.keys()) if (k <= h - KEEP_HOURS) this.hourly.delete(k);
    if (this.daily.size > KEEP_DAYS + 1) for (const k of this.daily.keys()) if (k <= d - KEEP_DAYS) this.daily.delete(k);
  }

  /** The most recent entries, newest first. */
  recent(limit: number): LogEntry[] {
    const ordered = this.log.length < this.opts.logSize ? this.log : [...this.log.slice(this.head), ...this.log.slice(0, this.head)];
    return ordered.slice(-limit).reverse();
  }

  /** Requests per hour (last 24, oldest first, gaps filled), per day (last 7), per model/account/key. */
  snapshot(now = Date.now()) {
    return buildSnapshot({ hour: (k) => this.hourly.get(k), day: (k) => this.daily.get(k), total: this.total, dims: this.dims }, now);
  }

  /** Changes how many log entries are kept (log.recent_requests is a runtime setting); keeps the newest. */
  resize(logSize: number): void {
    if (logSize === this.opts.logSize) return;
    const keep = this.recent(logSize).reverse();
    this.opts.logSize = logSize;
    this.log = [];
    this.head = 0;
    for (const e of keep) this.pushLog(e);
  }

  /** Forgets everything (admin "reset"). */
  reset(): void {
    this.hourly.clear();
    this.daily.clear();
    for (const d of Object.values(this.dims)) d.clear();
    this.total = empty();
    this.log = [];
    this.head = 0;
    this.dirty = true;
  }

  private bucket(map: Map<number, Bucket>, k: number): Bucket {
    let b = map.get(k);
    if (!b) map.set(k, (b = empty()));
    return b;
  }

  private dimBucket(dim: Dimension, id: string): Bucket {
    const map = this.dims[dim];
    let b = map.get(id);
    if (!b) {
      if (map.size >= MAX_DIMENSION) id = OTHER;
      b = map.get(id) ?? empty();
      map.set(id, b);
    }
    return b;
  }

  private pushLog(e: LogEntry): void {
    if (this.opts.logSize === 0) return;
    if (this.log.length < this.opts.logSize) this.log.push(e);
    else {
      this.log[this.head] = e;
      this.head = (this.head + 1) % this.opts.logSize;
    }
  }

  private async persist(): Promise<void> {
    if (!this.file || !this.dirty) return;
    this.dirty = false;
    const data: Persisted = {
      version: 1,
      hourly: [...this.hourly],
      daily: [...this.daily],
      models: [...this.dims.models],
      accounts: [...this.dims.accounts],
      keys: [...this.dims.keys],
      total: this.total,
      log: this.recent(this.opts.logSize).reverse(),
    };
    try {
      await writeFileAtomic(this.file, JSON.stringify(data));
    } catch (err) {
      this.dirty = true;
      this.opts.onError?.(err);
    }
  }
}

interface Persisted {
  version: 1;
  hourly: [number, Bucket][];
  daily: [number, Bucket][];
  models: [string, Bucket][];
  accounts: [string, Bucket][];
  keys: [string, Bucket][];
  total: Bucket;
  log: LogEntry[];
}
