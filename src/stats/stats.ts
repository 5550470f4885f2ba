/**
 * Usage figures and the recent-request log for the admin console. In memory (one `record` per
 * finished client request: a few Map updates, no I/O), persisted to `<dataDir>/stats.json`
 * every `persistMs` and on close, so a restart keeps the history; the request log goes to
 * `<dataDir>/request-log.jsonl` instead, appended to (rewritten only when enough of it has been
 * dropped by retention), so a large log does not mean rewriting megabytes every 30 s. Per instance: with storage
 * type redis, bootstrap uses ./redis-stats.ts instead so every instance reports the combined figures.
 *
 * Nothing here ever holds a prompt, an answer, a token or a key: entries carry the route, model,
 * key *name* and *id*, account *id*, status, duration and token count only.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { ageCutoff, DEFAULT_RETENTION, isBefore, matches, UsageMap, type KeyUsageDay, type LogPage, type LogQuery, type Retention, type UsageBucket, type UsageQuery } from './log-query.js';
import { add, buildSnapshot, DAY, empty, HOUR, KEEP_DAYS, KEEP_HOURS, MAX_DIMENSION, OTHER, type Bucket, type Dimension, type LogEntry, type StatsStore } from './types.js';

export type { LogEntry } from './types.js';

interface Item {
  e: LogEntry;
  seq: number;
}

export interface StatsOptions {
  dataDir: string | null;
  /** log.recent_requests */
  logSize: number;
  /** log.retention_days (default 30; 0 = no age limit) */
  retentionDays?: number;
  /** log.usage_days (default 90) */
  usageDays?: number;
  persistMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export class Stats implements StatsStore {
  private hourly = new Map<number, Bucket>();
  private daily = new Map<number, Bucket>();
  private dims: Record<Dimension, Map<string, Bucket>> = { models: new Map(), accounts: new Map(), keys: new Map() };
  private total = empty();
  private usage = new UsageMap();
  /** Oldest first, ordered by (time, seq). */
  private log: Item[] = [];
  private nextSeq = 1;
  /** Entries recorded since the log file was last written. */
  private unwritten: Item[] = [];
  /** Lines in the log file (kept ones and ones retention has dropped since). */
  private fileLines = 0;
  private rewrite = false;
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly file: string | null;
  private readonly logFile: string | null;
  private retention: Retention;
  private readonly now: () => number;

  constructor(private readonly opts: StatsOptions) {
    this.file = opts.dataDir ? join(opts.dataDir, 'stats.json') : null;
    this.logFile = opts.dataDir ? join(opts.dataDir, 'request-log.jsonl') : null;
    this.retention = { maxEntries: opts.logSize, retentionDays: opts.retentionDays ?? DEFAULT_RETENTION.retentionDays, usageDays: opts.usageDays ?? DEFAULT_RETENTION.usageDays };
    this.now = opts.now ?? Date.now;
  }

  async init(): Promise<void> {
    let legacyLog: LogEntry[] = [];
    if (this.file) {
      try {
        const data = JSON.parse(await readFile(this.file, 'utf8')) as Persisted;
        this.hourly = new Map(data.hourly);
        this.daily = new Map(data.daily);
        for (const d of ['models', 'accounts', 'keys'] as const) this.dims[d] = new Map(data[d]);
        this.total = data.total ?? empty();
        for (const [k, v] of data.usage ?? []) this.usage.map.set(k, v);
        for (const [id, name] of data.usageNames ?? []) this.usage.names.set(id, name);
        legacyLog = data.log ?? [];
      } catch {
        // Missing or unreadable: statistics start afresh (they are not worth refusing to start over).
      }
    }
    if (this.logFile) {
      let text: string | null = null;
      try {
        text = await readFile(this.logFile, 'utf8');
      } catch {
        // No log file yet: a stats.json from before the log had its own file brings its entries.
      }
      if (text !== null) {
        for (const line of text.split('\n')) {
          if (!line) continue;
          this.fileLines++;
          try {
            const { seq, ...e } = JSON.parse(line) as LogEntry & { seq: number };
            if (typeof seq === 'number' && typeof e.time === 'number') this.insert({ e, seq });
          } catch {
            // A torn last line (a crash mid-append) or a damaged one: skip it.
          }
        }
      } else if (legacyLog.length > 0) {
        for (const e of legacyLog) this.insert({ e, seq: this.nextSeq++ });
        this.rewrite = true;
        this.dirty = true;
      }
      for (const i of this.log) if (i.seq >= this.nextSeq) this.nextSeq = i.seq + 1;
      if (this.prune()) this.dirty = true;
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
    this.usage.record(e);
    if (this.retention.maxEntries > 0) {
      const item = { e, seq: this.nextSeq++ };
      this.insert(item);
      this.unwritten.push(item);
      if (this.unwritten.length > this.retention.maxEntries) this.unwritten.splice(0, this.unwritten.length - this.retention.maxEntries);
      if (this.log.length > this.retention.maxEntries) this.log.splice(0, this.log.length - this.retention.maxEntries);
    }
    this.dirty = true;
    // Drop buckets that fell out of the kept range (cheap: at most one per hour).
    if (this.hourly.size > KEEP_HOURS + 1) for (const k of this.hourly.keys()) if (k <= h - KEEP_HOURS) this.hourly.delete(k);
    if (this.daily.size > KEEP_DAYS + 1) for (const k of this.daily.keys()) if (k <= d - KEEP_DAYS) this.daily.delete(k);
  }

  /** The most recent entries, newest first. */
  recent(limit: number): LogEntry[] {
    return this.log.slice(-limit).reverse().map((i) => i.e);
  }

  async queryLog(q: LogQuery): Promise<LogPage> {
    this.prune();
    // Start below the cursor / `to` (binary search on the (time, seq) order), walk to older entries.
    let hi = this.log.length;
    if (q.before || q.to !== undefined) {
      const c = q.before ?? { time: q.to! + 1, seq: 0 };
      const bound = q.to !== undefined && q.before && q.to + 1 < q.before.time ? { time: q.to + 1, seq: 0 } : c;
      let lo = 0;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        const it = this.log[mid]!;
        if (isBefore(it.e.time, it.seq, bound)) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: Item[] = [];
    for (let i = hi - 1; i >= 0; i--) {
      const it = this.log[i]!;
      if (q.from !== undefined && it.e.time < q.from) break;
      if (!matches(it.e, q)) continue;
      out.push(it);
      if (out.length > q.limit) break;
    }
    const more = out.length > q.limit;
    const page = out.slice(0, q.limit);
    const last = page.at(-1);
    return { entries: page.map((i) => i.e), next: more && last ? { time: last.e.time, seq: last.seq } : null };
  }

  async keyUsage(q: UsageQuery): Promise<KeyUsageDay[]> {
    this.usage.prune(Math.floor(this.now() / DAY) - this.retention.usageDays);
    return this.usage.rows(q);
  }

  /** Requests per hour (last 24, oldest first, gaps filled), per day (last 7), per model/account/key. */
  snapshot(now = Date.now()) {
    return buildSnapshot({ hour: (k) => this.hourly.get(k), day: (k) => this.daily.get(k), total: this.total, dims: this.dims }, now);
  }

  /** Changes how many log entries are kept (log.recent_requests is a runtime setting); keeps the newest. */
  resize(logSize: number): void {
    this.setRetention({ ...this.retention, maxEntries: logSize });
  }

  setRetention(r: Retention): void {
    this.retention = { ...r };
    if (this.prune()) this.dirty = true;
  }

  /** Forgets everything (admin "reset"). */
  reset(): void {
    this.hourly.clear();
    this.daily.clear();
    for (const d of Object.values(this.dims)) d.clear();
    this.total = empty();
    this.usage.map.clear();
    this.usage.names.clear();
    this.log = [];
    this.unwritten = [];
    this.rewrite = true;
    this.dirty = true;
  }

  /** Keeps the entry order (time, seq) when a clock step back makes an entry older than the last. */
  private insert(item: Item): void {
    const last = this.log.at(-1);
    if (!last || !isBefore(item.e.time, item.seq, { time: last.e.time, seq: last.seq })) {
      this.log.push(item);
      return;
    }
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const it = this.log[mid]!;
      if (isBefore(it.e.time, it.seq, { time: item.e.time, seq: item.seq })) lo = mid + 1;
      else hi = mid;
    }
    this.log.splice(lo, 0, item);
  }

  /** Applies the retention by size and age; true when something was dropped. */
  private prune(): boolean {
    const before = this.log.length;
    const max = this.retention.maxEntries;
    if (this.log.length > max) this.log.splice(0, this.log.length - max);
    const cutoff = ageCutoff(this.retention, this.now());
    if (cutoff > 0 && this.log.length > 0 && this.log[0]!.e.time < cutoff) {
      let n = 0;
      while (n < this.log.length && this.log[n]!.e.time < cutoff) n++;
      this.log.splice(0, n);
    }
    if (this.log.length < before) {
      // Dropped lines stay in the file until it is rewritten (loading applies the retention again).
      if (this.fileLines > 2 * this.log.length + 1000) this.rewrite = true;
      return true;
    }
    return false;
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

  /** Saves one at a time (a rewrite must not race an append to the file it replaces). */
  private persist(): Promise<void> {
    const run = this.saving.then(() => this.persistOnce());
    this.saving = run;
    return run;
  }

  private async persistOnce(): Promise<void> {
    if (!this.file) return;
    // Age retention holds with no traffic too: each tick drops what has grown too old.
    if (this.prune()) this.dirty = true;
    if (!this.dirty) return;
    this.dirty = false;
    this.usage.prune(Math.floor(this.now() / DAY) - this.retention.usageDays);
    const data: Persisted = {
      version: 2,
      hourly: [...this.hourly],
      daily: [...this.daily],
      models: [...this.dims.models],
      accounts: [...this.dims.accounts],
      keys: [...this.dims.keys],
      total: this.total,
      usage: [...this.usage.map],
      usageNames: [...this.usage.names],
    };
    const line = (i: Item) => `${JSON.stringify({ seq: i.seq, ...i.e })}\n`;
    const unwritten = this.unwritten;
    const rewrite = this.rewrite || this.fileLines + unwritten.length > 2 * this.retention.maxEntries + 1000;
    this.unwritten = [];
    this.rewrite = false;
    try {
      await writeFileAtomic(this.file, JSON.stringify(data));
      if (this.logFile) {
        if (rewrite) {
          const all = this.log.map(line).join('');
          await writeFileAtomic(this.logFile, all);
          this.fileLines = this.log.length;
        } else if (unwritten.length > 0) {
          await appendFile(this.logFile, unwritten.map(line).join(''), { mode: 0o600 });
          this.fileLines += unwritten.length;
        }
      }
    } catch (err) {
      this.dirty = true;
      this.unwritten = [...unwritten, ...this.unwritten];
      this.rewrite ||= rewrite;
      this.opts.onError?.(err);
    }
  }
}

interface Persisted {
  version: 1 | 2;
  hourly: [number, Bucket][];
  daily: [number, Bucket][];
  models: [string, Bucket][];
  accounts: [string, Bucket][];
  keys: [string, Bucket][];
  total: Bucket;
  /** Per-key daily usage (`<day>\n<keyId>` → name and bucket). */
  usage?: [string, { name: string | null; b: UsageBucket }][];
  /** Each key's latest name. */
  usageNames?: [string, string][];
  /** Version 1 kept the request log here; version 2 in request-log.jsonl. */
  log?: LogEntry[];
}
