/**
 * The single-process store: plain Maps in memory, persisted to `<dataDir>/store.json`.
 * Every operation does its whole read-modify-write synchronously (no `await` inside), so it is
 * atomic with respect to every other operation in this process; only the wait for the disk
 * comes after. The rules themselves live in ../account-rules.ts, ../select.ts and
 * ../report-rules.ts, shared with the Redis store.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { accountIdFor, normalizeToken } from '../../lib/account-id.js';
import { removeStaleTemps, writeFileAtomic } from '../../lib/atomic-write.js';
import type { Tier } from '../../core/models.js';
import { applyAccountPatch, cloneAccount, findCandidates, matchesStatusFilter, modesForTier, newAccount, settleAccount } from '../account-rules.js';
import { applyOutcome, MAX_ERROR_LENGTH, type LeaseRecord } from '../report-rules.js';
import { pickAccount } from '../select.js';
import type {
  Account,
  AccountPatch,
  ImportItem,
  LeaseRequest,
  LeaseResult,
  ModeQuota,
  Outcome,
  PoolPolicy,
  StatusFilter,
  Store,
} from '../types.js';
import { loadState, serializeState, STATE_FILE_NAME } from './state-file.js';
import { StateWriter } from './state-writer.js';

export interface LocalStoreOptions {
  dataDir: string;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** Debounce for hot-path writes (lease/report). Default 1000 ms. */
  flushDelayMs?: number;
  /** Source for the `random` strategy, in [0, 1). Default Math.random. */
  random?: () => number;
  /** Told about failed background writes (they are retried). */
  onFlushError?: (err: unknown) => void;
}

export class LocalStore implements Store {
  readonly kind = 'local' as const;
  /** Path of the state file. */
  readonly file: string;
  private readonly accounts = new Map<string, Account>();
  private readonly meta = new Map<string, string>();
  /** Open leases; not persisted (a restart releases every slot). */
  private readonly leases = new Map<string, LeaseRecord>();
  private rrCursor: string | null = null;
  /** withLock holders: name → expiry (epoch ms). */
  private readonly locks = new Map<string, number>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly writer: StateWriter;

  constructor(private readonly opts: LocalStoreOptions) {
    this.file = join(opts.dataDir, STATE_FILE_NAME);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.writer = new StateWriter(
      () => writeFileAtomic(this.file, serializeState(this.accounts.values(), this.meta)),
      { delayMs: opts.flushDelayMs ?? 1000, onError: opts.onFlushError },
    );
  }

  /**
   * Creates the data directory, removes temp files of an interrupted write and loads the state
   * file if present; throws (naming the file) if it is corrupt. Call before anything else; this
   * process must be the only one using the directory.
   */
  async init(): Promise<void> {
    await mkdir(this.opts.dataDir, { recursive: true });
    // Leftovers of a write interrupted by a crash; the real file is intact either way.
    await removeStaleTemps(this.file);
    const state = await loadState(this.file);
    if (!state) return;
    this.accounts.clear();
    this.leases.clear();
    for (const acc of state.accounts) this.accounts.set(acc.id, acc);
    this.meta.clear();
    for (const [k, v] of state.meta) this.meta.set(k, v);
  }

  /** Waits until every change made so far, including debounced hot-path ones, is on disk. */
  async close(): Promise<void> {
    await this.writer.drain();
  }

  /** Always true: the store lives in this process. */
  async ping(): Promise<boolean> {
    return true;
  }

  /**
   * Normalises each token (see normalizeToken) and adds those not yet present. Invalid tokens
   * are neither added nor counted as skipped; duplicates (existing or repeated in the batch)
   * are counted in `skipped` and left untouched. Durable on resolve.
   */
  async importAccounts(items: ImportItem[]): Promise<{ added: Account[]; skipped: number }> {
    const now = this.now();
    const added: Account[] = [];
    let skipped = 0;
    for (const item of items) {
      const token = normalizeToken(item.token);
      if (token === null) continue;
      const id = accountIdFor(token);
      if (this.accounts.has(id)) {
        skipped++;
        continue;
      }
      const acc = newAccount(id, token, item.tier ?? 'basic', item.tags ?? [], now, item.kind);
      this.accounts.set(id, acc);
      added.push(cloneAccount(acc));
    }
    if (added.length > 0) await this.writer.flush();
    return { added, skipped };
  }

  /** Copies of all accounts, oldest first (import order within one import). */
  async listAccounts(): Promise<Account[]> {
    return [...this.accounts.values()].sort((a, b) => a.createdAt - b.createdAt).map(cloneAccount);
  }

  /** A copy of the account, or null. */
  async getAccount(id: string): Promise<Account | null> {
    const acc = this.accounts.get(id);
    return acc ? cloneAccount(acc) : null;
  }

  /**
   * Applies an operator change. `status: 'active'` re-enables any account (also an invalid
   * one) and clears its cooldown and failure streak. Returns the updated copy, or null for an
   * unknown id. Durable on resolve.
   */
  async updateAccount(id: string, patch: AccountPatch): Promise<Account | null> {
    const acc = this.accounts.get(id);
    if (!acc) return null;
    applyAccountPatch(acc, patch);
    const copy = cloneAccount(acc);
    await this.writer.flush();
    return copy;
  }

  /** Replaces the account's quota windows (and tier when given); unknown id: no-op. Durable on resolve. */
  async setQuotas(id: string, quotas: Record<string, ModeQuota>, tier?: Tier): Promise<void> {
    const acc = this.accounts.get(id);
    if (!acc) return;
    acc.quotas = Object.fromEntries(Object.entries(quotas).map(([mode, q]) => [mode, { ...q }]));
    if (tier !== undefined) acc.tier = tier;
    await this.writer.flush();
  }

  /** Deletes the accounts; open leases on them are dropped when reported. Returns how many existed. Durable on resolve. */
  async deleteAccounts(ids: string[]): Promise<number> {
    let deleted = 0;
    for (const id of new Set(ids)) if (this.accounts.delete(id)) deleted++;
    if (deleted > 0) await this.writer.flush();
    return deleted;
  }

  /** Deletes every account matching a filter now (see Store.deleteAccountsByStatus). Durable on resolve. */
  async deleteAccountsByStatus(filters: StatusFilter[]): Promise<string[]> {
    const now = this.now();
    const ids: string[] = [];
    for (const acc of this.accounts.values()) if (matchesStatusFilter(acc, filters, now)) ids.push(acc.id);
    for (const id of ids) this.accounts.delete(id);
    if (ids.length > 0) await this.writer.flush();
    return ids;
  }

  /**
   * Atomically picks an eligible account (see Store.lease and findCandidates) with the
   * request's strategy and takes one of its concurrency slots. Expired cooldowns and quota
   * windows are settled first (persisted lazily).
   */
  async lease(req: LeaseRequest): Promise<LeaseResult> {
    const now = this.now();
    let changed = false;
    for (const acc of this.accounts.values()) if (settleAccount(acc, now)) changed = true;
    if (changed) this.writer.markDirty();

    const found = findCandidates(this.accounts.values(), req, now);
    if (!found.ok) return { ok: false, reason: found.reason, retryAfterMs: found.retryAfterMs };
    const pick = pickAccount(found.accounts, found.mode, req.strategy, this.rrCursor, this.random);
    this.rrCursor = pick.rrCursor;
    const acc = pick.account;
    acc.inFlight++;
    const leaseId = randomUUID();
    this.leases.set(leaseId, {
      accountId: acc.id,
      mode: found.mode,
      tierModes: [...modesForTier(req, acc.tier)],
      at: now,
    });
    return { ok: true, lease: { leaseId, accountId: acc.id, token: acc.token, tier: acc.tier, mode: found.mode } };
  }

  /**
   * Releases the lease's slot and applies the outcome (see applyOutcome). Idempotent: an
   * unknown or already reported lease is a no-op, as is a lease whose account was deleted.
   * The change is persisted by the debounced writer, not before resolving.
   */
  async report(leaseId: string, outcome: Outcome, policy: PoolPolicy): Promise<void> {
    const rec = this.leases.get(leaseId);
    if (!rec) return;
    this.leases.delete(leaseId);
    const acc = this.accounts.get(rec.accountId);
    if (!acc) return;
    const now = this.now();
    const settled = settleAccount(acc, now);
    applyOutcome(acc, rec, outcome, policy, now);
    // An abort only frees the slot, which is not persisted.
    if (settled || outcome.kind !== 'aborted') this.writer.markDirty();
  }

  /** Marks the account invalid with the given reason; unknown id: no-op. Durable on resolve. */
  async markInvalid(id: string, message: string): Promise<void> {
    const acc = this.accounts.get(id);
    if (!acc) return;
    acc.status = 'invalid';
    acc.coolingUntil = null;
    acc.lastError = message.slice(0, MAX_ERROR_LENGTH);
    acc.lastErrorAt = this.now();
    await this.writer.flush();
  }

  /** In-process lock (one process owns a local store): not re-entrant, expires after ttlMs. */
  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const now = this.now();
    const held = this.locks.get(name);
    if (held !== undefined && held > now) return { ok: false };
    const until = now + ttlMs;
    this.locks.set(name, until);
    try {
      return { ok: true, value: await fn() };
    } finally {
      if (this.locks.get(name) === until) this.locks.delete(name);
    }
  }

  /** The stored value, or null. */
  async getMeta(key: string): Promise<string | null> {
    return this.meta.get(key) ?? null;
  }

  /** Stores the value. Durable on resolve. */
  async setMeta(key: string, value: string): Promise<void> {
    this.meta.set(key, value);
    await this.writer.flush();
  }
}
