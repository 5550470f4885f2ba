/**
 * The searchable request log and the per-key usage history: the query shapes every stats store
 * (local, Redis, SQL) answers, the page cursor, retention, and the per-key daily buckets.
 *
 * Order: newest first by (time, seq), where seq is a number the store gives each entry when it
 * keeps it (local counter, Redis INCR, SQL auto-increment id), so entries finishing in the same
 * millisecond still have one order and a cursor never skips or repeats one.
 */
import { DAY, toMicroUsd, type KeyUsageDay, type LogCursor, type LogEntry, type LogQuery, type Retention, type UsageQuery } from './types.js';

export type { KeyUsageDay, LogCursor, LogPage, LogQuery, Retention, StatusRange, UsageQuery } from './types.js';

export const DEFAULT_RETENTION: Retention = { maxEntries: 50_000, retentionDays: 30, usageDays: 90 };

/** The retention a config asks for (`log.recent_requests`, `log.retention_days`, `log.usage_days`). */
export function retentionOf(config: { log: { recent_requests: number; retention_days: number; usage_days: number } }): Retention {
  return { maxEntries: config.log.recent_requests, retentionDays: config.log.retention_days, usageDays: config.log.usage_days };
}

/** The oldest time an entry may have under `r` at `now` (0 = no age limit). */
export function ageCutoff(r: Retention, now: number): number {
  return r.retentionDays > 0 ? now - r.retentionDays * DAY : 0;
}

export const encodeCursor = (c: LogCursor): string => `${c.time}.${c.seq}`;

/** Parses a cursor from the API; null when it is not one this server made. */
export function decodeCursor(s: string): LogCursor | null {
  const m = /^(\d{1,15})\.(\d{1,15})$/.exec(s);
  return m ? { time: Number(m[1]), seq: Number(m[2]) } : null;
}

/** True when (time, seq) is older than the cursor. */
export const isBefore = (time: number, seq: number, c: LogCursor): boolean => time < c.time || (time === c.time && seq < c.seq);

/** The filters other than time and cursor, for stores that filter in process (local, Redis). */
export function matches(e: LogEntry, q: LogQuery): boolean {
  if (q.from !== undefined && e.time < q.from) return false;
  if (q.to !== undefined && e.time > q.to) return false;
  if (q.model !== undefined && e.model !== q.model) return false;
  if (q.keyId !== undefined && (e.keyId ?? null) !== q.keyId) return false;
  if (q.account !== undefined && e.account !== q.account) return false;
  if (q.route !== undefined && e.route !== q.route) return false;
  if (q.status && (e.status < q.status.min || e.status > q.status.max)) return false;
  return true;
}

/** Longest model / route / id kept in the indexed SQL columns (and compared on every store). */
export const MAX_FIELD = 191;

// ---- per-key usage per day ----

/** What a key used on one UTC day. Costs in micro-USD, like the stats buckets. */
export interface UsageBucket {
  total: number;
  success: number;
  failed: number;
  prompt_tokens: number;
  completion_tokens: number;
  tokens: number;
  cost: number;
  cost_estimated: number;
}

/** The numbers in the order the stores keep them (SQL columns, Redis hash fields). */
export const USAGE_METRICS = ['total', 'success', 'failed', 'prompt_tokens', 'completion_tokens', 'tokens', 'cost', 'cost_estimated'] as const;

export const emptyUsage = (): UsageBucket => ({ total: 0, success: 0, failed: 0, prompt_tokens: 0, completion_tokens: 0, tokens: 0, cost: 0, cost_estimated: 0 });

export function addUsage(b: UsageBucket, e: LogEntry): void {
  b.total++;
  if (e.status < 400) b.success++;
  else b.failed++;
  b.prompt_tokens += e.promptTokens ?? 0;
  b.completion_tokens += e.completionTokens ?? 0;
  b.tokens += e.tokens ?? 0;
  b.cost += toMicroUsd(e.cost);
  if (e.costEstimated) b.cost_estimated += toMicroUsd(e.cost);
}

export function mergeUsage(into: UsageBucket, b: UsageBucket): void {
  for (const m of USAGE_METRICS) into[m] += b[m];
}

/** The key a request's usage is counted under (null = no key: an open API). */
export const usageKeyOf = (e: LogEntry): string | null => (e.keyId ? e.keyId.slice(0, MAX_FIELD) : null);

export function usageRow(day: number, keyId: string, name: string | null, b: UsageBucket): KeyUsageDay {
  return {
    date: new Date(day * DAY).toISOString().slice(0, 10),
    key_id: keyId,
    key_name: name,
    requests: b.total,
    success: b.success,
    failed: b.failed,
    prompt_tokens: b.prompt_tokens,
    completion_tokens: b.completion_tokens,
    tokens: b.tokens,
    cost_usd: b.cost / 1e6,
    cost_estimated_usd: b.cost_estimated / 1e6,
  };
}

/** Oldest day first, then by key id: the one order every store returns. */
export const byDayThenKey = (a: KeyUsageDay, b: KeyUsageDay): number => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.key_id < b.key_id ? -1 : a.key_id > b.key_id ? 1 : 0);

/** Per-key daily usage buffered or kept in memory: `<day>\n<keyId>` → name and bucket. */
export class UsageMap {
  readonly map = new Map<string, { name: string | null; b: UsageBucket }>();
  /** Each key's latest name (every row shows the key's current name). */
  readonly names = new Map<string, string>();

  record(e: LogEntry): void {
    const id = usageKeyOf(e);
    if (!id) return;
    const day = Math.floor(e.time / DAY);
    const k = `${day}\n${id}`;
    let slot = this.map.get(k);
    if (!slot) this.map.set(k, (slot = { name: null, b: emptyUsage() }));
    slot.name = e.key?.slice(0, MAX_FIELD) ?? slot.name;
    if (slot.name !== null) this.names.set(id, slot.name);
    addUsage(slot.b, e);
  }

  *entries(): Generator<{ day: number; keyId: string; name: string | null; b: UsageBucket }> {
    for (const [k, v] of this.map) {
      const cut = k.indexOf('\n');
      yield { day: Number(k.slice(0, cut)), keyId: k.slice(cut + 1), name: v.name, b: v.b };
    }
  }

  /** Drops days before `firstDay`. */
  prune(firstDay: number): void {
    for (const k of this.map.keys()) if (Number(k.slice(0, k.indexOf('\n'))) < firstDay) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }

  rows(q: UsageQuery): KeyUsageDay[] {
    const out: KeyUsageDay[] = [];
    for (const x of this.entries()) {
      if (x.day < q.fromDay || x.day > q.toDay || (q.keyId !== undefined && x.keyId !== q.keyId)) continue;
      out.push(usageRow(x.day, x.keyId, this.names.get(x.keyId) ?? x.name, x.b));
    }
    return out.sort(byDayThenKey);
  }
}
