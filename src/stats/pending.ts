/**
 * Increments recorded since the last flush to Redis (./redis-stats.ts). Bounded however long
 * Redis stays away: time buckets past their retention are dropped (Redis would expire them at
 * once anyway), distinct models/accounts/keys are capped like the local stats (the rest is summed
 * under "(other)"), and only the newest `logSize` log entries are kept.
 */
import { UsageMap } from './log-query.js';
import { add, DAY, empty, HOUR, KEEP_DAYS, KEEP_HOURS, MAX_DIMENSION, OTHER, type Bucket, type Dimension, type LogEntry } from './types.js';

export class PendingStats {
  total = empty();
  readonly hours = new Map<number, Bucket>();
  readonly days = new Map<number, Bucket>();
  readonly dims: Record<Dimension, Map<string, Bucket>> = { models: new Map(), accounts: new Map(), keys: new Map() };
  /** Per-key daily usage (requests, prompt/completion tokens, cost). */
  readonly usage = new UsageMap();
  /** Oldest first. */
  log: LogEntry[] = [];

  get isEmpty(): boolean {
    return this.total.total === 0 && this.log.length === 0;
  }

  record(e: LogEntry, logSize: number): void {
    add(this.total, e);
    add(slot(this.hours, Math.floor(e.time / HOUR)), e);
    add(slot(this.days, Math.floor(e.time / DAY)), e);
    if (e.model) add(this.dim('models', e.model), e);
    if (e.account) add(this.dim('accounts', e.account), e);
    if (e.key) add(this.dim('keys', e.key), e);
    this.usage.record(e);
    if (logSize > 0) {
      this.log.push(e);
      // Trimmed in chunks so a long outage costs O(1) per request, not a shift per entry.
      if (this.log.length > 2 * logSize) this.log.splice(0, this.log.length - logSize);
    }
    this.prune(e.time);
  }

  /** The newest `logSize` entries, oldest first. */
  logTail(logSize: number): LogEntry[] {
    return logSize > 0 ? this.log.slice(-logSize) : [];
  }

  private dim(d: Dimension, id: string): Bucket {
    const map = this.dims[d];
    return slot(map, !map.has(id) && map.size >= MAX_DIMENSION ? OTHER : id);
  }

  private prune(now: number): void {
    const h = Math.floor(now / HOUR);
    const d = Math.floor(now / DAY);
    if (this.hours.size > KEEP_HOURS + 1) for (const k of this.hours.keys()) if (k <= h - KEEP_HOURS) this.hours.delete(k);
    if (this.days.size > KEEP_DAYS + 1) for (const k of this.days.keys()) if (k <= d - KEEP_DAYS) this.days.delete(k);
  }
}

function slot<K>(map: Map<K, Bucket>, k: K): Bucket {
  let b = map.get(k);
  if (!b) map.set(k, (b = empty()));
  return b;
}

/** Log entries one flush (Redis script, SQL transaction) writes at most. */
export const LOG_PER_FLUSH = 2000;

/**
 * Keeps the oldest LOG_PER_FLUSH of the batch's newest `logSize` log entries in the batch and
 * returns the rest (oldest first), for the flushes that follow.
 */
export function splitLog(batch: PendingStats, logSize: number): LogEntry[] {
  const tail = batch.logTail(logSize);
  batch.log = tail.slice(0, LOG_PER_FLUSH);
  return tail.slice(LOG_PER_FLUSH);
}
