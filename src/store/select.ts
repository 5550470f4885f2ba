/**
 * Selection strategies: which of the eligible accounts a lease takes. Pure (randomness and the
 * round-robin cursor come in from the caller) so every store picks the same way.
 */
import { UNKNOWN_QUOTA } from './account-rules.js';
import type { Account, SelectionStrategy } from './types.js';

export interface Pick {
  account: Account;
  /** The round-robin cursor to keep for the next pick (the id just chosen, or unchanged). */
  rrCursor: string | null;
}

/**
 * Picks one of `candidates` (non-empty, all eligible for `mode`). Deterministic except for
 * `random`, which uses the supplied `random()` in [0, 1).
 * - max_quota: most remaining quota in the mode (unknown counts as UNKNOWN_QUOTA), then fewest
 *   in flight, then least recently used, then id.
 * - round_robin: the first id after `rrCursor` in id order, wrapping around; stable when
 *   accounts come and go because the cursor is an id, not an index.
 * - random: uniform.
 * - least_recently_used: lastUsedAt ascending (never used first), then fewest in flight, then id.
 */
export function pickAccount(
  candidates: Account[],
  mode: string,
  strategy: SelectionStrategy,
  rrCursor: string | null,
  random: () => number,
): Pick {
  if (candidates.length === 0) throw new Error('pickAccount needs at least one candidate');
  switch (strategy) {
    case 'max_quota': {
      const left = (a: Account) => a.quotas[mode]?.remaining ?? UNKNOWN_QUOTA;
      const best = candidates.reduce((b, a) => {
        const d = left(a) - left(b) || b.inFlight - a.inFlight || compareLru(b, a) || cmp(b.id, a.id);
        return d > 0 ? a : b;
      });
      return { account: best, rrCursor };
    }
    case 'round_robin': {
      const sorted = [...candidates].sort((a, b) => cmp(a.id, b.id));
      const next = (rrCursor === null ? undefined : sorted.find((a) => a.id > rrCursor)) ?? sorted[0]!;
      return { account: next, rrCursor: next.id };
    }
    case 'random': {
      const i = Math.min(candidates.length - 1, Math.floor(random() * candidates.length));
      return { account: candidates[i]!, rrCursor };
    }
    case 'least_recently_used': {
      const best = candidates.reduce((b, a) => {
        const d = compareLru(b, a) || b.inFlight - a.inFlight || cmp(b.id, a.id);
        return d > 0 ? a : b;
      });
      return { account: best, rrCursor };
    }
  }
}

/** Negative when `a` was used less recently than `b` (never used sorts first). */
function compareLru(a: Account, b: Account): number {
  const ta = a.lastUsedAt ?? -Infinity;
  const tb = b.lastUsedAt ?? -Infinity;
  return ta === tb ? 0 : ta < tb ? -1 : 1;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
