import type { ProviderName } from '../core/models.js';

/**
 * The client-key store contract (docs/api-contract.md §3): keys the operator creates in the admin console.
 * Only a SHA-256 digest of each secret is kept; the secret itself is shown once, at creation.
 *
 * Like the account store, every method is atomic on its own: the local implementation does its
 * read-modify-write without an `await` in between; a Redis implementation keeps each key in a
 * hash (`<prefix>:key:<id>`, plus `<prefix>:keyhash:<digest>` → id) and implements `hit` with one
 * Lua script over two sliding-window logs (see `hit` below), so limits hold across instances.
 */

export interface ClientKey {
  /** Public id (used in admin URLs and logs), never the secret. */
  id: string;
  name: string;
  /** SHA-256 hex digest of the secret. */
  hash: string;
  /** Recognisable part of the secret for the list ("sk-g2a-Ab…xY12"), made at creation. */
  hint: string;
  enabled: boolean;
  createdAt: number;
  lastUsedAt: number | null;
  /** Epoch ms after which the key is refused; null = never. */
  expiresAt: number | null;
  /** Model ids the key may use; null = every model. */
  models: string[] | null;
  /** Requests per minute / per day; null = unlimited. */
  rpm: number | null;
  rpd: number | null;
  /** Account tags requests with this key are served from; empty = any account. */
  tags: string[];
  /** Providers (`grok`, `xai`) whose credentials may serve this key; null = every provider. */
  providers: ProviderName[] | null;
}

export type NewClientKey = Omit<ClientKey, 'id' | 'createdAt' | 'lastUsedAt'>;
export type ClientKeyPatch = Partial<Pick<ClientKey, 'name' | 'enabled' | 'expiresAt' | 'models' | 'rpm' | 'rpd' | 'tags' | 'providers'>>;

/**
 * A key as read back from any store. Keys stored before a field existed lack it; every store
 * reads them through this, so they mean what they meant then (no provider limit).
 */
export function withKeyDefaults<T extends { providers?: ProviderName[] | null }>(k: T): T & { providers: ProviderName[] | null } {
  return { ...k, providers: k.providers ?? null };
}

export interface RateLimits {
  rpm: number | null;
  rpd: number | null;
}

/**
 * `ok: false` means a limit is reached; `retryAfterMs` is when its window ends. A refused request
 * is not counted.
 */
export type HitResult = { ok: true } | { ok: false; limit: 'rpm' | 'rpd'; retryAfterMs: number };

/**
 * Window semantics, the same in every store: sliding windows of 60 s (rpm) and 86 400 s (rpd): a
 * request passes only if fewer than `limit` requests passed in the window before it, and a refusal
 * says how long until one leaves it (rate-window.ts; in Redis a Lua port of it, so it is atomic).
 */
export const RPM_WINDOW_MS = 60_000;
export const RPD_WINDOW_MS = 86_400_000;

export interface KeyStore {
  init(): Promise<void>;
  close(): Promise<void>;
  /** Stores a new key; durable on resolve. */
  create(key: NewClientKey): Promise<ClientKey>;
  list(): Promise<ClientKey[]>;
  get(id: string): Promise<ClientKey | null>;
  /** The key whose secret has this SHA-256 hex digest. The hot path: must be cheap. */
  findByHash(hash: string): Promise<ClientKey | null>;
  update(id: string, patch: ClientKeyPatch): Promise<ClientKey | null>;
  /** Removes the key at once (revocation); returns whether it existed. Durable on resolve. */
  revoke(id: string): Promise<boolean>;
  /** How many keys exist (an empty store plus no API_KEY means an open API). */
  count(): Promise<number>;
  /** Atomically checks the key's rate windows and, if allowed, counts the request and stamps last-used time. */
  hit(id: string, limits: RateLimits, now?: number): Promise<HitResult>;
}
