import type { ProviderName, Tier } from '../core/models.js';

export type AccountStatus = 'active' | 'cooling' | 'invalid' | 'disabled';

/** One upstream quota window for one mode, as `/rest/rate-limits` reports it. */
export interface ModeQuota {
  remaining: number;
  total: number;
  windowSeconds: number;
  /** Epoch ms when the window refills; null when unknown. */
  resetAt: number | null;
}

/**
 * Which upstream a credential belongs to: a grok.com session (`grok`, the SSO cookie) or an
 * official xAI API key (`xai`). Accounts stored before kinds existed have none and are `grok`.
 */
export type CredentialKind = ProviderName;
export const CREDENTIAL_KINDS: readonly CredentialKind[] = ['grok', 'xai'];

/** The kind of an account, `grok` when it predates kinds. */
export const kindOf = (a: Pick<Account, 'kind'>): CredentialKind => a.kind ?? 'grok';

export interface Account {
  /** Short stable id derived from the token (never the token itself). */
  id: string;
  token: string;
  /** Absent on grok.com accounts (the default and every account stored before kinds existed). */
  kind?: CredentialKind;
  tier: Tier;
  status: AccountStatus;
  /** Epoch ms until which a `cooling` account is not leased. */
  coolingUntil: number | null;
  quotas: Record<string, ModeQuota>;
  tags: string[];
  note: string;
  inFlight: number;
  useCount: number;
  failCount: number;
  consecutiveFailures: number;
  lastUsedAt: number | null;
  lastError: string | null;
  /** Epoch ms of the failure `lastError` describes; absent on accounts stored before it existed. */
  lastErrorAt?: number | null;
  /**
   * Answers from this account that were retried elsewhere because they were degraded, by kind:
   * cut off before their final frame, empty, or without the reasoning the mode always streams.
   */
  degraded: Partial<Record<AnswerQuality, number>>;
  createdAt: number;
}

/** Why an answer grok.com sent with 200 was not good enough to pass on (see upstream/grok/turn-quality.ts). */
export type AnswerQuality = 'incomplete' | 'empty' | 'no_reasoning';
export const ANSWER_QUALITIES: readonly AnswerQuality[] = ['incomplete', 'empty', 'no_reasoning'];

/**
 * What a bulk delete may select by: a stored status, or `exhausted` (every quota window known for
 * the account is spent now; see account-rules.ts matchesStatusFilter). Cooling means still cooling
 * at the time of the call (a cooldown that has passed counts as active).
 */
export type StatusFilter = AccountStatus | 'exhausted';
export const STATUS_FILTERS: readonly StatusFilter[] = ['active', 'cooling', 'invalid', 'disabled', 'exhausted'];

export type SelectionStrategy = 'max_quota' | 'round_robin' | 'random' | 'least_recently_used';

export interface LeaseRequest {
  /** Only credentials of this kind (absent: `grok`). */
  provider?: CredentialKind;
  /** Modes in preference order; the first mode with an eligible account is leased. */
  modes: string[];
  minTier: Tier;
  /** Accounts already tried for this request. */
  exclude?: string[];
  /** When set, only accounts carrying at least one of these tags. */
  tags?: string[];
  maxConcurrency: number;
  strategy: SelectionStrategy;
  /** Which modes each tier can use; an account is eligible for a mode only if its tier lists it. */
  tierModes: Record<Tier, string[]>;
}

export interface Lease {
  leaseId: string;
  accountId: string;
  token: string;
  tier: Tier;
  mode: string;
  /** Set by the pool: the upstream this credential belongs to (stores leave it out; absent = grok). */
  provider?: CredentialKind;
}

export type LeaseResult =
  | { ok: true; lease: Lease }
  /**
   * `no_accounts`: no account of the tier exists at all (or every one is invalid/disabled).
   * `none_available`: some exist but none is usable now; `retryAfterMs` is the earliest time one
   * could be (cooldown end or quota reset), null when only the concurrency cap blocks.
   */
  | { ok: false; reason: 'no_accounts' | 'none_available'; retryAfterMs: number | null };

export type AccountEffect = 'none' | 'cooldown' | 'quota-exhausted' | 'invalid';

export type Outcome =
  | { kind: 'success' }
  /** The client went away: release the slot, count nothing against the account. */
  | { kind: 'aborted' }
  | { kind: 'failure'; effect: AccountEffect; retryAfterMs?: number; message: string; quality?: AnswerQuality };

export interface PoolPolicy {
  /** Consecutive failures (effect `none`/`cooldown`) after which an account is disabled; 0 = never. */
  failThreshold: number;
  /** Cooldown when the upstream gives no Retry-After. */
  cooldownMs: number;
}

export interface ImportItem {
  token: string;
  /** Absent: `grok`. */
  kind?: CredentialKind;
  tier?: Tier;
  tags?: string[];
}

export interface AccountPatch {
  status?: 'active' | 'disabled';
  tags?: string[];
  note?: string;
  tier?: Tier;
}

/**
 * The storage contract. Operations, not a key-value API: every method is atomic on its own
 * (local: no `await` inside the critical section; redis: one Lua script), so several instances
 * can share one store. A method that resolves has made its change durable.
 */
export interface Store {
  readonly kind: 'local' | 'redis' | 'pgsql' | 'mysql';
  init(): Promise<void>;
  /** Flushes pending state and releases resources. */
  close(): Promise<void>;
  /** True when the store answers. */
  ping(): Promise<boolean>;

  /** Adds accounts; tokens already present are skipped (counted, not touched). Durable on resolve. */
  importAccounts(items: ImportItem[]): Promise<{ added: Account[]; skipped: number }>;
  listAccounts(): Promise<Account[]>;
  getAccount(id: string): Promise<Account | null>;
  /** Manual changes from the operator. Enabling clears cooldown and failure streaks. Durable. */
  updateAccount(id: string, patch: AccountPatch): Promise<Account | null>;
  /** Replaces the known quota windows (quota sync). */
  setQuotas(id: string, quotas: Record<string, ModeQuota>, tier?: Tier): Promise<void>;
  /** Deletes accounts; returns how many existed. Durable. */
  deleteAccounts(ids: string[]): Promise<number>;
  /**
   * Deletes, in one atomic step, every account matching any of the filters at the time of the call
   * (matchesStatusFilter); returns the ids deleted. An empty filter list deletes nothing. Durable.
   */
  deleteAccountsByStatus(filters: StatusFilter[]): Promise<string[]>;

  /**
   * Atomically picks the best eligible account and takes one of its concurrency slots.
   * Eligible: status active (or cooling whose time has passed), tier ≥ minTier, not excluded,
   * tags match, in-flight < maxConcurrency, quota for the mode not known to be spent.
   */
  lease(req: LeaseRequest): Promise<LeaseResult>;
  /**
   * Releases the lease's slot and applies the outcome (counters, quota, cooldown, status).
   * Idempotent per lease: a second report of the same lease does nothing.
   */
  report(leaseId: string, outcome: Outcome, policy: PoolPolicy): Promise<void>;

  /** Marks the account invalid (quota sync saw a dead credential); unknown id: no-op. Durable. */
  markInvalid(id: string, message: string): Promise<void>;
  /**
   * Runs `fn` while holding the named lock, shared by every instance on this store; does not wait:
   * `{ ok: false }` when another holder has it. The lock expires after `ttlMs` even if the holder dies.
   */
  withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }>;

  /** Small named values the server keeps (the generated admin key, …). Durable. */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}
