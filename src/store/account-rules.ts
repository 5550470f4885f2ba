/**
 * Pure account rules shared by every store: how a new account looks, how time changes one
 * (cooldown ends, quota windows refill) and which accounts may serve a lease request. No I/O and
 * no clock of their own, so the Redis store's Lua scripts can mirror them line by line.
 */
import { TIER_RANK, type Tier } from '../core/models.js';
import { ANSWER_QUALITIES, kindOf, type Account, type AccountPatch, type CredentialKind, type LeaseRequest, type ModeQuota, type StatusFilter } from './types.js';

/** What `max_quota` assumes for a mode whose quota was never synced: plenty, so fresh accounts get used. */
export const UNKNOWN_QUOTA = Number.MAX_SAFE_INTEGER;

/** A freshly imported account (token already normalised, id already derived). */
export function newAccount(id: string, token: string, tier: Tier, tags: string[], now: number, kind: CredentialKind = 'grok'): Account {
  return {
    id,
    token,
    // Only non-grok kinds are written, so grok accounts look exactly as they did before kinds.
    ...(kind === 'grok' ? {} : { kind }),
    tier,
    status: 'active',
    coolingUntil: null,
    quotas: {},
    tags: normalizeTags(tags),
    note: '',
    inFlight: 0,
    useCount: 0,
    failCount: 0,
    consecutiveFailures: 0,
    lastUsedAt: null,
    lastError: null,
    lastErrorAt: null,
    degraded: {},
    createdAt: now,
  };
}

/** Trimmed, non-empty, unique tags in their first order. */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t !== ''))];
}

/**
 * An admin edit, in place (the local and SQL stores; Redis does the same in its Lua script): a
 * status set by hand ends any cooldown, and `active` forgives the failures counted so far.
 */
export function applyAccountPatch(acc: Account, patch: AccountPatch): void {
  if (patch.status !== undefined) {
    acc.status = patch.status;
    acc.coolingUntil = null;
    if (patch.status === 'active') acc.consecutiveFailures = 0;
  }
  if (patch.tags !== undefined) acc.tags = normalizeTags(patch.tags);
  if (patch.note !== undefined) acc.note = patch.note;
  if (patch.tier !== undefined) acc.tier = patch.tier;
}

/** A deep copy, so callers never hold a reference into store state. */
export function cloneAccount(a: Account): Account {
  const quotas: Record<string, ModeQuota> = {};
  for (const [mode, q] of Object.entries(a.quotas)) quotas[mode] = { ...q };
  return { ...a, quotas, tags: [...a.tags] };
}

/**
 * Applies the passage of time in place: a cooling account whose time has passed is active again;
 * a quota window whose reset time has passed is full again (remaining = total, next reset
 * unknown) or, when its size was never known (total 0, created by a quota-exhausted report),
 * forgotten so the mode counts as unknown again. Returns true when something changed, so the
 * caller knows the account needs persisting. Idempotent.
 */
export function settleAccount(acc: Account, now: number): boolean {
  let changed = false;
  if (acc.status === 'cooling' && (acc.coolingUntil === null || acc.coolingUntil <= now)) {
    acc.status = 'active';
    acc.coolingUntil = null;
    changed = true;
  }
  for (const [mode, q] of Object.entries(acc.quotas)) {
    if (q.resetAt !== null && q.resetAt <= now) {
      if (q.total > 0) {
        q.remaining = q.total;
        q.resetAt = null;
      } else {
        delete acc.quotas[mode];
      }
      changed = true;
    }
  }
  return changed;
}

/** Milliseconds until the quota allows a request: 0 = usable now (or unknown), Infinity = no known end. */
export function quotaWaitMs(q: ModeQuota | undefined, now: number): number {
  if (!q || q.remaining > 0) return 0;
  if (q.resetAt === null) return Infinity;
  return Math.max(0, q.resetAt - now);
}

/** The modes an account's tier may use, per the request's tier table. */
export function modesForTier(req: Pick<LeaseRequest, 'tierModes'>, tier: Tier): string[] {
  return req.tierModes[tier] ?? [];
}

/**
 * Whether the account could ever serve the request, whatever the time, load or exclusions:
 * active or cooling, tier high enough, tags match (an empty tag list filters nothing), and its
 * tier lists at least one of the requested modes.
 */
export function couldServe(acc: Account, req: LeaseRequest): boolean {
  if (acc.status !== 'active' && acc.status !== 'cooling') return false;
  if (kindOf(acc) !== (req.provider ?? 'grok')) return false;
  if (TIER_RANK[acc.tier] < TIER_RANK[req.minTier]) return false;
  if (req.tags && req.tags.length > 0 && !acc.tags.some((t) => req.tags!.includes(t))) return false;
  const allowed = modesForTier(req, acc.tier);
  return req.modes.some((m) => allowed.includes(m));
}

export type CandidateSet =
  | { ok: true; mode: string; accounts: Account[] }
  | { ok: false; reason: 'no_accounts' | 'none_available'; retryAfterMs: number | null };

/**
 * The accounts that may take the request now, for the first mode (in `req.modes` order) that has
 * any; or why none may. Accounts must have been settled (`settleAccount`) at `now` first.
 * `no_accounts`: nothing could ever serve it. `none_available`: something could, later;
 * `retryAfterMs` is the soonest a cooldown ends or a quota refills among those, null when
 * only the concurrency cap (or this request's exclusions) stands in the way.
 */
export function findCandidates(accounts: Iterable<Account>, req: LeaseRequest, now: number): CandidateSet {
  const exclude = new Set(req.exclude ?? []);
  const usable: Account[] = [];
  let anyCould = false;
  for (const acc of accounts) {
    if (!couldServe(acc, req)) continue;
    anyCould = true;
    if (!exclude.has(acc.id)) usable.push(acc);
  }
  if (!anyCould) return { ok: false, reason: 'no_accounts', retryAfterMs: null };

  for (const mode of req.modes) {
    const ready = usable.filter(
      (a) =>
        a.status === 'active' &&
        a.inFlight < req.maxConcurrency &&
        modesForTier(req, a.tier).includes(mode) &&
        quotaWaitMs(a.quotas[mode], now) === 0,
    );
    if (ready.length > 0) return { ok: true, mode, accounts: ready };
  }

  let soonest = Infinity;
  for (const a of usable) {
    // An account is back when its cooldown is over AND one of its modes has quota again.
    const cool = a.status === 'cooling' && a.coolingUntil !== null ? Math.max(0, a.coolingUntil - now) : 0;
    const allowed = modesForTier(req, a.tier);
    let quota = Infinity;
    for (const m of req.modes) if (allowed.includes(m)) quota = Math.min(quota, quotaWaitMs(a.quotas[m], now));
    const wait = Math.max(cool, quota);
    // wait 0 means only the concurrency cap blocks it: no time to report for that one.
    if (wait > 0 && wait < soonest) soonest = wait;
  }
  return { ok: false, reason: 'none_available', retryAfterMs: soonest === Infinity ? null : soonest };
}

/** The per-kind counts of degraded answers; files written before they existed have none. */
export function degradedCounts(v: unknown): Account['degraded'] {
  const out: Account['degraded'] = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const k of ANSWER_QUALITIES) {
    const n = (v as Record<string, unknown>)[k];
    if (typeof n === 'number' && Number.isFinite(n) && n > 0) out[k] = n;
  }
  return out;
}

/**
 * Whether a bulk delete by `filters` selects the account at `now` (the account is settled on a copy
 * first, so a passed cooldown counts as active and a refilled window as not spent). `exhausted`:
 * at least one quota window is known and every known window has nothing left. The Redis delete
 * script mirrors this.
 */
export function matchesStatusFilter(acc: Account, filters: readonly StatusFilter[], now: number): boolean {
  const a = cloneAccount(acc);
  settleAccount(a, now);
  if (filters.includes(a.status)) return true;
  if (!filters.includes('exhausted')) return false;
  const windows = Object.values(a.quotas);
  return windows.length > 0 && windows.every((q) => q.remaining <= 0);
}
