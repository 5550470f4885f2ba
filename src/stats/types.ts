/**
 * The stats contract shared by the local (in-memory + DATA_DIR/stats.json) and the Redis
 * implementation: what one finished request records, the buckets both keep, their retention, and
 * the snapshot shape `/admin/api/stats` serves. Recording is synchronous and never does I/O (it
 * runs in every request's onResponse hook); reading may be async (Redis).
 */

export interface LogEntry {
  /** Epoch ms when the request finished. */
  time: number;
  method: string;
  route: string;
  model: string | null;
  /** The calling key's name (its label), never the key itself. */
  key: string | null;
  /** The calling key's id (`key_…`), `API_KEY` for a key from config/env; absent on entries logged before ids were. */
  keyId?: string | null;
  account: string | null;
  status: number;
  ms: number;
  tokens: number | null;
  /** Prompt and completion tokens as the client was told them in `usage` (absent/null = not known). */
  promptTokens?: number | null;
  completionTokens?: number | null;
  /** What the request cost in USD by the price table (`[[prices]]`); null = no price for it. */
  cost?: number | null;
  /**
   * True when (part of) that cost was priced on token counts the server estimated (grok.com
   * reports none) rather than on counts the provider reported (xAI).
   */
  costEstimated?: boolean;
}

export interface Bucket {
  total: number;
  success: number;
  failed: number;
  /** Sum of durations, for the average. */
  ms: number;
  tokens: number;
  /** Sum of request costs in micro-USD (an integer, so every store adds it exactly). */
  cost: number;
  /** The part of `cost` priced on estimated token counts (micro-USD). */
  cost_estimated: number;
}

export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Hourly buckets kept (the snapshot shows 24). */
export const KEEP_HOURS = 48;
/** Daily buckets kept (the snapshot shows 7). */
export const KEEP_DAYS = 30;
/** Distinct models/accounts/keys tracked; beyond this they are summed under "(other)". */
export const MAX_DIMENSION = 2000;
export const OTHER = '(other)';

export type Dimension = 'models' | 'accounts' | 'keys';
export const DIMENSIONS: readonly Dimension[] = ['models', 'accounts', 'keys'];

/** The bucket's numbers, in the order the stores keep them (columns, Redis hash fields). */
export const METRICS = ['total', 'success', 'failed', 'ms', 'tokens', 'cost', 'cost_estimated'] as const;
export const empty = (): Bucket => ({ total: 0, success: 0, failed: 0, ms: 0, tokens: 0, cost: 0, cost_estimated: 0 });
/** USD → the integer micro-USD buckets sum. */
export const toMicroUsd = (usd: number | null | undefined) => Math.round((usd ?? 0) * 1e6);

/** Adds one request to a bucket. */
export function add(b: Bucket, e: LogEntry): void {
  b.total++;
  if (e.status < 400) b.success++;
  else b.failed++;
  b.ms += e.ms;
  b.tokens += e.tokens ?? 0;
  // `?? 0`: buckets persisted before costs were kept have no cost yet.
  b.cost = (b.cost ?? 0) + toMicroUsd(e.cost);
  if (e.costEstimated) b.cost_estimated = (b.cost_estimated ?? 0) + toMicroUsd(e.cost);
}

/** Adds one bucket to another (merging unflushed increments back, aggregating reads). */
export function merge(into: Bucket, b: Bucket): void {
  into.total += b.total;
  into.success += b.success;
  into.failed += b.failed;
  into.ms += b.ms;
  into.tokens += b.tokens;
  into.cost = (into.cost ?? 0) + (b.cost ?? 0);
  into.cost_estimated = (into.cost_estimated ?? 0) + (b.cost_estimated ?? 0);
}

export function view(b: Bucket) {
  return {
    total: b.total,
    success: b.success,
    failed: b.failed,
    success_rate: b.total ? b.success / b.total : null,
    avg_latency_ms: b.total ? Math.round(b.ms / b.total) : null,
    tokens: b.tokens,
    cost_usd: (b.cost ?? 0) / 1e6,
    /** The part of cost_usd priced on estimated token counts (grok.com reports none). */
    cost_estimated_usd: (b.cost_estimated ?? 0) / 1e6,
  };
}

export interface SnapshotSource {
  hour(index: number): Bucket | undefined;
  day(index: number): Bucket | undefined;
  total: Bucket;
  dims: Record<Dimension, Iterable<[string, Bucket]>>;
}

/** Requests per hour (last 24, oldest first, gaps filled), per day (last 7), per model/account/key (top 50). */
export function buildSnapshot(src: SnapshotSource, now: number) {
  const h = Math.floor(now / HOUR);
  const d = Math.floor(now / DAY);
  const hourly = Array.from({ length: 24 }, (_, i) => h - 23 + i).map((k) => ({ hour: new Date(k * HOUR).toISOString(), ...view(src.hour(k) ?? empty()) }));
  const daily = Array.from({ length: 7 }, (_, i) => d - 6 + i).map((k) => ({ date: new Date(k * DAY).toISOString().slice(0, 10), ...view(src.day(k) ?? empty()) }));
  const ranked = <N extends string>(dim: Dimension, name: N) =>
    [...src.dims[dim]].sort((a, b) => b[1].total - a[1].total).slice(0, 50).map(([id, b]) => ({ [name]: id, ...view(b) }) as Record<N, string> & ReturnType<typeof view>);
  return {
    summary: view(src.total),
    hourly,
    daily,
    models: ranked('models', 'model'),
    accounts: ranked('accounts', 'account_id'),
    keys: ranked('keys', 'key_name'),
  };
}

export type StatsSnapshot = ReturnType<typeof buildSnapshot>;

// ---- the request log's queries and the per-key usage history (helpers in ./log-query.ts) ----

/** Where the next page starts: just below this (time, seq). */
export interface LogCursor {
  time: number;
  seq: number;
}

/** Status filter: an inclusive range (a code is min = max, `4xx` is 400–499). */
export interface StatusRange {
  min: number;
  max: number;
}

export interface LogQuery {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, inclusive. */
  to?: number;
  model?: string;
  keyId?: string;
  account?: string;
  status?: StatusRange;
  route?: string;
  /** Only entries strictly older than this (the previous page's `next`). */
  before?: LogCursor;
  limit: number;
}

export interface LogPage {
  entries: LogEntry[];
  /** The cursor of the next (older) page; null = this was the last one. */
  next: LogCursor | null;
}

/** How much of the log and the per-key history is kept (config `log.*`). */
export interface Retention {
  /** log.recent_requests: at most this many entries (0 = keep none). */
  maxEntries: number;
  /** log.retention_days: entries older than this many days are dropped (0 = no age limit). */
  retentionDays: number;
  /** log.usage_days: per-key daily usage older than this many days is dropped. */
  usageDays: number;
}

export interface UsageQuery {
  /** First and last UTC day (epoch days, `Math.floor(ms / DAY)`), inclusive. */
  fromDay: number;
  toDay: number;
  keyId?: string;
}

/** One row of the usage history: one key on one day (`key_name`: the key's latest name). */
export interface KeyUsageDay {
  date: string;
  key_id: string;
  key_name: string | null;
  requests: number;
  success: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost_usd: number;
  cost_estimated_usd: number;
}

/**
 * Usage figures, the request log and the per-key usage history. `Stats` (./stats.ts) keeps them
 * per process; `RedisStats` (./redis-stats.ts) and `SqlStats` (../store/sql/sql-stats.ts) share
 * them between every instance on one Redis or database.
 */
export interface StatsStore {
  init(): Promise<void>;
  /** Writes out what is still buffered. */
  close(): Promise<void>;
  /** One finished request. Synchronous, no I/O: the request path never waits on storage. */
  record(e: LogEntry): void;
  /** The most recent entries, newest first. */
  recent(limit: number): LogEntry[] | Promise<LogEntry[]>;
  /** One page of the request log, newest first, filtered (./log-query.ts). */
  queryLog(q: LogQuery): Promise<LogPage>;
  /** Requests, tokens and cost per key per day (UTC), oldest day first. */
  keyUsage(q: UsageQuery): Promise<KeyUsageDay[]>;
  /** Applies log.recent_requests / log.retention_days / log.usage_days (runtime settings). */
  setRetention(r: Retention): void;
  snapshot(now?: number): StatsSnapshot | Promise<StatsSnapshot>;
  /** Changes how many log entries are kept (log.recent_requests is a runtime setting); keeps the newest. */
  resize(logSize: number): void;
  /** Forgets everything (admin "reset"). */
  reset(): void | Promise<void>;
}
