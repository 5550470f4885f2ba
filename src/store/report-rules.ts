/**
 * Pure outcome rules: what reporting a lease's outcome does to its account. Shared by every
 * store (the Redis report script mirrors `applyOutcome`).
 */
import type { Account, ModeQuota, Outcome, PoolPolicy } from './types.js';

/** Longest `lastError` kept: enough to diagnose, short enough for the admin list. */
export const MAX_ERROR_LENGTH = 300;

/** What a store remembers about a lease between `lease` and `report`. */
export interface LeaseRecord {
  accountId: string;
  mode: string;
  /** The modes the account's tier could use at lease time (to tell when all are spent). */
  tierModes: string[];
  at: number;
}

/**
 * Applies `outcome` to `acc` in place (the account should be settled at `now` first). Always
 * frees one in-flight slot (never below 0). Operator states are respected: a disabled account
 * is never turned into cooling or re-disabled by a report, though `invalid` always sticks
 * because it is a fact about the token.
 */
export function applyOutcome(
  acc: Account,
  lease: Pick<LeaseRecord, 'mode' | 'tierModes'>,
  outcome: Outcome,
  policy: PoolPolicy,
  now: number,
): void {
  acc.inFlight = Math.max(0, acc.inFlight - 1);
  if (outcome.kind === 'aborted') return;
  if (outcome.kind === 'success') {
    acc.useCount++;
    acc.lastUsedAt = now;
    acc.consecutiveFailures = 0;
    spendOne(acc.quotas[lease.mode], now, policy);
    return;
  }

  acc.failCount++;
  acc.lastError = outcome.message.slice(0, MAX_ERROR_LENGTH);
  acc.lastErrorAt = now;
  if (outcome.quality) acc.degraded[outcome.quality] = (acc.degraded[outcome.quality] ?? 0) + 1;
  // Only pool-managed states may be changed by traffic; disabled/invalid are final until the operator acts.
  const managed = () => acc.status === 'active' || acc.status === 'cooling';
  switch (outcome.effect) {
    case 'invalid':
      acc.status = 'invalid';
      acc.coolingUntil = null;
      break;
    case 'cooldown': {
      const until = now + (outcome.retryAfterMs ?? policy.cooldownMs);
      if (managed()) coolUntil(acc, until);
      const q = acc.quotas[lease.mode];
      if (q) {
        q.remaining = 0;
        q.resetAt = until;
      }
      break;
    }
    case 'quota-exhausted': {
      const q = (acc.quotas[lease.mode] ??= { remaining: 0, total: 0, windowSeconds: 0, resetAt: null });
      // Prefer the upstream's word, then a reset time we already know, then the window length.
      const known = q.resetAt !== null && q.resetAt > now ? q.resetAt : null;
      const fallback = q.windowSeconds > 0 ? q.windowSeconds * 1000 : policy.cooldownMs;
      q.remaining = 0;
      q.resetAt = outcome.retryAfterMs !== undefined ? now + outcome.retryAfterMs : (known ?? now + fallback);
      const until = allSpentUntil(acc, lease.tierModes, now);
      if (until !== null && managed()) coolUntil(acc, until);
      break;
    }
    case 'none':
      break;
  }
  if (outcome.effect === 'none' || outcome.effect === 'cooldown') {
    acc.consecutiveFailures++;
    if (policy.failThreshold > 0 && acc.consecutiveFailures >= policy.failThreshold && managed()) {
      acc.status = 'disabled';
      acc.coolingUntil = null;
    }
  }
}

/** Takes one unit of a known quota; when it runs dry without a known reset, estimates one. */
function spendOne(q: ModeQuota | undefined, now: number, policy: PoolPolicy): void {
  if (!q) return;
  q.remaining = Math.max(0, q.remaining - 1);
  if (q.remaining === 0 && (q.resetAt === null || q.resetAt <= now)) {
    // Without a reset time the mode would stay blocked until the next quota sync.
    q.resetAt = now + (q.windowSeconds > 0 ? q.windowSeconds * 1000 : policy.cooldownMs);
  }
}

/** Extends (never shortens) a cooldown. */
function coolUntil(acc: Account, until: number): void {
  const current = acc.status === 'cooling' && acc.coolingUntil !== null ? acc.coolingUntil : -Infinity;
  acc.status = 'cooling';
  acc.coolingUntil = Math.max(current, until);
}

/**
 * When every mode the tier may use has a spent quota with a known reset, the earliest reset
 * (the account is useless until then); otherwise null.
 */
export function allSpentUntil(acc: Account, tierModes: string[], now: number): number | null {
  let earliest = Infinity;
  for (const mode of tierModes) {
    const q = acc.quotas[mode];
    if (!q || q.remaining > 0 || q.resetAt === null || q.resetAt <= now) return null;
    earliest = Math.min(earliest, q.resetAt);
  }
  return earliest === Infinity ? null : earliest;
}
