/**
 * Admin console sessions and the login throttle, kept where the accounts are (DATA_DIR, or Redis
 * shared by every instance), so a logout on one instance is a logout on all of them.
 *
 * A session is stored under a *lookup id*: HMAC-SHA256(admin key, cookie value) (see
 * http/admin-sessions.ts). The store never sees the cookie itself, and a changed admin key maps
 * every old cookie to a lookup id that does not exist: all sessions end with the key.
 */

export interface SessionStore {
  init(): Promise<void>;
  close(): Promise<void>;
  /** Stores a session valid until `expiresAt` (epoch ms); durable on resolve. */
  create(lookupId: string, expiresAt: number): Promise<void>;
  /** Whether this session exists and has not expired at `now`. */
  isValid(lookupId: string, now?: number): Promise<boolean>;
  /** Ends one session (logout); durable on resolve. Unknown id: no-op. */
  remove(lookupId: string): Promise<void>;
  /** Ends every session (logout everywhere); returns how many were live. Durable on resolve. */
  removeAll(): Promise<number>;
  /**
   * The login throttle: atomically books this client's next password check (see claimLoginSlot).
   * Shared by every instance on the store, so spreading guesses over instances gains nothing.
   */
  claimLoginSlot(client: string, now?: number): Promise<LoginSlot>;
  /** A correct password: the client's failure streak is forgotten. */
  clearLoginFailures(client: string): Promise<void>;
}

/** `ok`: check the password after waiting `waitMs`. Refused: too many pending tries; retry after `retryAfterMs`. */
export type LoginSlot = { ok: true; waitMs: number } | { ok: false; retryAfterMs: number };

export const SESSION_TTL_MS = 12 * 3600 * 1000;

/**
 * Throttle rule, the same on every store (the Redis version is the Lua in
 * redis/redis-session-store.ts). Every try counts as a failure until it succeeds: try n of a
 * streak may be checked no earlier than the previous one plus 250 ms · 2^(n-2), capped at 8 s.
 * A client that would have to wait longer than 8 s (tries sent in parallel) is refused at once
 * with 429, so concurrency buys an attacker nothing and no request sleeps for long. A streak is
 * forgotten 15 minutes after its last try.
 */
export const LOGIN_THROTTLE = { baseDelayMs: 250, maxDelayMs: 8000, forgetAfterMs: 15 * 60_000 } as const;

export interface ThrottleState {
  /** Tries in the current streak. */
  tries: number;
  /** Earliest time (epoch ms) the next try may be checked. */
  nextAt: number;
  /** When the streak is forgotten (epoch ms). */
  expiresAt: number;
}

/** Applies one try to `state` (null = no streak): the slot, and the state to store. */
export function claimLoginSlot(state: ThrottleState | null, now: number): { slot: LoginSlot; state: ThrottleState | null } {
  const s = state && state.expiresAt > now ? state : { tries: 0, nextAt: now, expiresAt: now };
  const { baseDelayMs, maxDelayMs, forgetAfterMs } = LOGIN_THROTTLE;
  const at = Math.max(now, s.nextAt);
  if (at - now > maxDelayMs) return { slot: { ok: false, retryAfterMs: at - now - maxDelayMs }, state: s };
  const tries = s.tries + 1;
  const nextAt = at + Math.min(maxDelayMs, baseDelayMs * 2 ** (tries - 1));
  return { slot: { ok: true, waitMs: at - now }, state: { tries, nextAt, expiresAt: nextAt + forgetAfterMs } };
}
