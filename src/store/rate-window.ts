import { RPD_WINDOW_MS, RPM_WINDOW_MS, type HitResult, type RateLimits } from './keys.js';

/**
 * Sliding-window limits for client keys, the same in every store (the Redis Lua script in
 * redis-key-store.ts is a line-by-line port). A fixed window opening on the first request lets
 * 2× the limit through across its boundary; here a request passes only if fewer than `limit`
 * requests passed in the `window` ms before it.
 *
 * The log is bucketed so its size is bounded (an rpd of 100 000 would otherwise keep 100 000
 * timestamps): requests are grouped by `floor(now / grain)`, each bucket keeping its count and
 * its latest request time, and a bucket is forgotten only when that latest request is a whole
 * window old. So a request is never forgotten early — the limit is exact or, within one grain
 * (100 ms for rpm, 144 s for rpd), slightly strict — and a log holds at most WINDOW_BUCKETS + 1.
 */
export const WINDOW_BUCKETS = 600;

/** One bucket: [bucket index, requests in it, time of its latest request]. */
export type Bucket = [number, number, number];
export interface RateLogs {
  rpm: Bucket[];
  rpd: Bucket[];
}

export const emptyRateLogs = (): RateLogs => ({ rpm: [], rpd: [] });

const WINDOWS = { rpm: RPM_WINDOW_MS, rpd: RPD_WINDOW_MS } as const;

/** Checks both limits and, when both allow it, counts the request in both logs (in place). */
export function slidingHit(logs: RateLogs, limits: RateLimits, now: number): HitResult {
  for (const name of ['rpm', 'rpd'] as const) {
    const limit = limits[name];
    const window = WINDOWS[name];
    // An unlimited window keeps no log: setting a limit starts from an empty one (as update() does).
    logs[name] = limit === null ? [] : logs[name].filter((b) => b[2] + window > now);
    if (limit === null) continue;
    let total = logs[name].reduce((n, b) => n + b[1], 0);
    if (total < limit) continue;
    // Refused: the wait is until enough of the oldest requests have left the window.
    for (const b of logs[name]) {
      total -= b[1];
      if (total < limit) return { ok: false, limit: name, retryAfterMs: Math.max(1, b[2] + window - now) };
    }
    return { ok: false, limit: name, retryAfterMs: window }; // a limit of 0
  }
  for (const name of ['rpm', 'rpd'] as const) {
    if (limits[name] === null) continue;
    const index = Math.floor(now / (WINDOWS[name] / WINDOW_BUCKETS));
    const last = logs[name].at(-1);
    if (last && last[0] >= index) {
      last[1]++;
      last[2] = Math.max(last[2], now);
    } else logs[name].push([index, 1, now]);
  }
  return { ok: true };
}
