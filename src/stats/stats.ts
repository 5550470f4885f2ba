/**
 * Usage figures and the recent-request log for the admin console. In memory (one `record` per
 * finished client request: a few Map updates, no I/O), persisted to `<dataDir>/stats.json`
 * every `persistMs` and on close, so a restart keeps the history. Per instance: with several
 * instances each reports what it served.
 *
 * Nothing here ever holds a prompt, an answer, a token or a key: entries carry the route, model,
 * key *name*, account *id*, status, duration and token count only.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.js';

export interface LogEntry {
  /** Epoch ms when the request finished. */
  time: number;
  method: string;
  route: string;
  model: string | null;
  key: string | null;
  account: string | null;
  status: number;
  ms: number;
  tokens: number | null;
}

interface Bucket {
  total: number;
  success: number;
  failed: number;
  /** Sum of durations, for the average. */
  ms: number;
  tokens: number;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const KEEP_HOURS = 48;
const KEEP_DAYS = 30;
/** Distinct models/accounts/keys tracked; beyond this they are summed under "(other)". */
const MAX_DIMENSION = 2000;

const empty = (): Bucket => ({ total: 0, success: 0, failed: 0, ms: 0, tokens: 0 });

function add(b: Bucket, e: LogEntry): void {
  b.total++;
  if (e.status < 400) b.success++;
  else b.failed++;
  b.ms += e.ms;
  b.tokens += e.tokens ?? 0;
}

function view(b: Bucket) {
  return {
    total: b.total,
    success: b.success,
    failed: b.failed,
    success_rate: b.total ? b.success / b.total : null,
    avg_latency_ms: b.total ? Math.round(b.ms / b.total) : null,
    tokens: b.tokens,
  };
}

type Dimension = 'models' | 'accounts' | 'keys';

export class Stats {
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
    const h = Math.floor(now / HOUR);
    const d = Math.floor(now / DAY);
    const hourly = Array.from({ length: 24 }, (_, i) => h - 23 + i).map((k) => ({ hour: new Date(k * HOUR).toISOString(), ...view(this.hourly.get(k) ?? empty()) }));
    const daily = Array.from({ length: 7 }, (_, i) => d - 6 + i).map((k) => ({ date: new Date(k * DAY).toISOString().slice(0, 10), ...view(this.daily.get(k) ?? empty()) }));
    const ranked = (dim: Dimension, name: string) =>
      [...this.dims[dim].entries()].sort((a, b) => b[1].total - a[1].total).slice(0, 50).map(([id, b]) => ({ [name]: id, ...view(b) }));
    return {
      summary: view(this.total),
      hourly,
      daily,
      models: ranked('models', 'model'),
      accounts: ranked('accounts', 'account_id'),
      keys: ranked('keys', 'key_name'),
    };
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
      if (map.size >= MAX_DIMENSION) id = '(other)';
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
