/**
 * The shared store: accounts, leases, locks, meta and runtime settings in Redis, so any number
 * of server processes (SERVER_WORKERS, separate instances) serve one pool. Every mutation is one
 * Lua script (./lua/scripts.ts) implementing the same rules as the local store; keys come from
 * ./keys.ts. A second connection is the pub/sub subscriber (settings and task updates).
 * When Redis cannot be reached each call fails at once with a 503 `store_unavailable`; reports
 * that could not be delivered are kept and replayed when the connection is back, so no
 * concurrency slot stays taken.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Tier } from '../../core/models.js';
import { accountIdFor, normalizeToken } from '../../lib/account-id.js';
import { degradedCounts, newAccount, normalizeTags } from '../account-rules.js';
import { MAX_ERROR_LENGTH } from '../report-rules.js';
import type { Account, AccountPatch, ImportItem, LeaseRequest, LeaseResult, ModeQuota, Outcome, PoolPolicy, StatusFilter, Store } from '../types.js';
import { connectOrThrow, createRedis, isConnectionError, redisLabel, storeUnavailable } from './connection.js';
import { redisKeys, type RedisKeys } from './keys.js';
import { RedisLiveness } from './liveness.js';
import * as lua from './lua/scripts.js';

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  now?: () => number;
  random?: () => number;
  /** A lease not reported nor renewed within this time is reclaimed (its holder died). Default 120 s. */
  leaseTtlMs?: number;
  /** Told about background problems (failed renewals/replays). */
  onError?: (err: unknown, what: string) => void;
  /** A PING unanswered this long marks Redis down (./liveness.ts). Default 300 ms. */
  livenessTimeoutMs?: number;
}

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

const SCRIPTS = {
  g2aLease: [4, lua.LEASE_LUA],
  g2aReport: [3, lua.REPORT_LUA],
  g2aRenew: [1, lua.RENEW_LUA],
  g2aImport: [3, lua.IMPORT_LUA],
  g2aUpdate: [1, lua.UPDATE_LUA],
  g2aSetQuotas: [1, lua.SET_QUOTAS_LUA],
  g2aMarkInvalid: [1, lua.MARK_INVALID_LUA],
  g2aDelete: [2, lua.DELETE_LUA],
  g2aDeleteByStatus: [2, lua.DELETE_BY_STATUS_LUA],
  g2aUnlock: [1, lua.UNLOCK_LUA],
  g2aSaveSettings: [2, lua.SAVE_SETTINGS_LUA],
} as const;

/** Parses stored account JSON; Lua's cjson writes an empty array as {}, so arrays are re-checked. */
export function decodeAccount(json: string): Account {
  const a = JSON.parse(json) as Account;
  if (!Array.isArray(a.tags)) a.tags = [];
  if (!a.quotas || Array.isArray(a.quotas)) a.quotas = {};
  a.degraded = degradedCounts(a.degraded);
  return a;
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly keys: RedisKeys;
  readonly label: string;
  /** Commands and scripts. */
  readonly client: Redis;
  /** Dedicated subscriber connection (a subscribed connection can run nothing else). */
  readonly subscriber: Redis;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly leaseTtlMs: number;
  /** Leases this process holds, renewed until reported. */
  private readonly open = new Set<string>();
  /** Reports that failed to reach Redis, replayed on reconnect. */
  private pending: [string, Outcome, PoolPolicy][] = [];
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private renewTimer: NodeJS.Timeout | undefined;
  /** Fails commands fast while Redis does not answer. */
  readonly liveness: RedisLiveness;

  constructor(private readonly opts: RedisStoreOptions) {
    this.keys = redisKeys(opts.prefix);
    this.label = redisLabel(opts.url);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.leaseTtlMs = opts.leaseTtlMs ?? 120_000;
    this.client = createRedis({ url: opts.url });
    // The subscriber may queue its (re)subscriptions while reconnecting.
    this.subscriber = createRedis({ url: opts.url }, { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
    for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) this.client.defineCommand(name, { numberOfKeys, lua });
    this.client.on('ready', () => void this.replayPending());
    this.liveness = new RedisLiveness(this.client, opts.livenessTimeoutMs ?? 300);
    this.liveness.onChange((up) => up && void this.replayPending());
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const h of this.handlers.get(channel) ?? []) h(message);
    });
  }

  private cmd(name: keyof typeof SCRIPTS): Cmd {
    return (this.client as unknown as Record<string, Cmd>)[name]!.bind(this.client);
  }

  /** Runs a Redis call, turning "cannot reach Redis" into the 503 every route understands. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw storeUnavailable(this.label);
      throw err;
    }
  }

  async init(): Promise<void> {
    await connectOrThrow(this.client, this.label);
    await connectOrThrow(this.subscriber, this.label);
    const renewEvery = Math.max(1000, Math.floor(this.leaseTtlMs / 3));
    this.renewTimer = setInterval(() => void this.renewLeases(), renewEvery);
    this.renewTimer.unref();
    this.liveness.start();
  }

  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    this.liveness.stop();
    await this.replayPending();
    this.subscriber.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  async ping(): Promise<boolean> {
    if (!this.liveness.alive) return false;
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Subscribes to a pub/sub channel on the dedicated connection. */
  async subscribe(channel: string, handler: (message: string) => void): Promise<void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.subscriber.subscribe(channel);
    }
    set.add(handler);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.run(() => this.client.publish(channel, message));
  }

  async importAccounts(items: ImportItem[]): Promise<{ added: Account[]; skipped: number }> {
    const now = this.now();
    const accounts: Account[] = [];
    for (const item of items) {
      const token = normalizeToken(item.token);
      if (token === null) continue;
      accounts.push(newAccount(accountIdFor(token), token, item.tier ?? 'basic', item.tags ?? [], now, item.kind));
    }
    if (accounts.length === 0) return { added: [], skipped: 0 };
    const args = accounts.flatMap((a) => [a.id, JSON.stringify(a)]);
    const k = this.keys;
    const flags = (await this.run(() => this.cmd('g2aImport')(k.accounts, k.order, k.seq, ...args))) as number[];
    const added = accounts.filter((_, i) => flags[i] === 1);
    return { added, skipped: accounts.length - added.length };
  }

  async listAccounts(): Promise<Account[]> {
    const k = this.keys;
    const [order, all] = await this.run(async () => {
      const res = await this.client.multi().zrange(k.order, 0, -1).hgetall(k.accounts).exec();
      if (!res) throw new Error('transaction aborted');
      for (const [err] of res) if (err) throw err;
      return [res[0]![1] as string[], res[1]![1] as Record<string, string>];
    });
    const out: Account[] = [];
    const seen = new Set<string>();
    for (const id of order) {
      if (all[id] !== undefined) {
        out.push(decodeAccount(all[id]));
        seen.add(id);
      }
    }
    for (const [id, json] of Object.entries(all)) if (!seen.has(id)) out.push(decodeAccount(json));
    return out;
  }

  async getAccount(id: string): Promise<Account | null> {
    const json = await this.run(() => this.client.hget(this.keys.accounts, id));
    return json === null ? null : decodeAccount(json);
  }

  async updateAccount(id: string, patch: AccountPatch): Promise<Account | null> {
    const p: AccountPatch = { ...patch };
    if (p.tags !== undefined) p.tags = normalizeTags(p.tags);
    const json = (await this.run(() => this.cmd('g2aUpdate')(this.keys.accounts, id, JSON.stringify(p)))) as string | null;
    return json ? decodeAccount(json) : null;
  }

  async setQuotas(id: string, quotas: Record<string, ModeQuota>, tier?: Tier): Promise<void> {
    await this.run(() => this.cmd('g2aSetQuotas')(this.keys.accounts, id, JSON.stringify(quotas), tier ?? ''));
  }

  async markInvalid(id: string, message: string): Promise<void> {
    await this.run(() => this.cmd('g2aMarkInvalid')(this.keys.accounts, id, message.slice(0, MAX_ERROR_LENGTH), this.now()));
  }

  async deleteAccounts(ids: string[]): Promise<number> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return 0;
    return (await this.run(() => this.cmd('g2aDelete')(this.keys.accounts, this.keys.order, ...unique))) as number;
  }

  async deleteAccountsByStatus(filters: StatusFilter[]): Promise<string[]> {
    const unique = [...new Set(filters)];
    if (unique.length === 0) return [];
    return (await this.run(() => this.cmd('g2aDeleteByStatus')(this.keys.accounts, this.keys.order, this.now(), ...unique))) as string[];
  }

  async lease(req: LeaseRequest): Promise<LeaseResult> {
    const k = this.keys;
    const leaseId = randomUUID();
    let res: [number, string, number?];
    try {
      res = (await this.cmd('g2aLease')(k.accounts, k.leases, k.leaseExpiry, k.rrCursor, JSON.stringify(req), this.now(), this.random(), leaseId, this.leaseTtlMs)) as [
        number,
        string,
        number?,
      ];
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      // Redis may have run the script and lost only the reply: release that lease once it is back
      // (reports are idempotent, so this is a no-op if the lease never came to exist).
      this.pending.push([leaseId, { kind: 'aborted' }, { failThreshold: 0, cooldownMs: 0 }]);
      throw storeUnavailable(this.label);
    }
    if (res[0] === 1) {
      this.open.add(leaseId);
      return { ok: true, lease: JSON.parse(res[1]) };
    }
    const retry = Number(res[2]);
    return { ok: false, reason: res[1] as 'no_accounts' | 'none_available', retryAfterMs: retry < 0 ? null : retry };
  }

  async report(leaseId: string, outcome: Outcome, policy: PoolPolicy): Promise<void> {
    if (outcome.kind === 'failure') outcome = { ...outcome, message: outcome.message.slice(0, MAX_ERROR_LENGTH) };
    try {
      await this.sendReport(leaseId, outcome, policy);
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      // Keep it: the slot must be freed once Redis is back (the lease keeps being renewed meanwhile).
      this.pending.push([leaseId, outcome, policy]);
    }
  }

  private async sendReport(leaseId: string, outcome: Outcome, policy: PoolPolicy): Promise<void> {
    const k = this.keys;
    await this.cmd('g2aReport')(k.accounts, k.leases, k.leaseExpiry, leaseId, JSON.stringify(outcome), JSON.stringify(policy), this.now());
    this.open.delete(leaseId);
  }

  /** Number of reports waiting for Redis to come back. */
  get pendingReports(): number {
    return this.pending.length;
  }

  private async replayPending(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    for (const [i, [id, outcome, policy]] of batch.entries()) {
      try {
        await this.sendReport(id, outcome, policy);
      } catch (err) {
        this.pending.push(...batch.slice(i));
        this.opts.onError?.(err, 'replaying lease reports');
        return;
      }
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.open.size === 0) return;
    try {
      await this.cmd('g2aRenew')(this.keys.leaseExpiry, this.now() + this.leaseTtlMs, ...this.open);
    } catch (err) {
      this.opts.onError?.(err, 'renewing leases');
    }
  }

  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const key = this.keys.lock(name);
    const holder = randomUUID();
    const got = await this.run(() => this.client.set(key, holder, 'PX', ttlMs, 'NX'));
    if (got !== 'OK') return { ok: false };
    try {
      return { ok: true, value: await fn() };
    } finally {
      await this.cmd('g2aUnlock')(key, holder).catch(() => {});
    }
  }

  async getMeta(key: string): Promise<string | null> {
    return this.run(() => this.client.hget(this.keys.meta, key));
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.run(() => this.client.hset(this.keys.meta, key, value));
  }

  /** Runtime settings overrides (JSON object) and their version; null when none were saved. */
  async loadSettings(): Promise<string | null> {
    return this.run(() => this.client.get(this.keys.settings));
  }

  /** Saves the overrides and announces the change to every instance. */
  async saveSettings(json: string): Promise<void> {
    await this.run(() => this.cmd('g2aSaveSettings')(this.keys.settings, this.keys.settingsVersion, json, this.keys.settingsChannel));
  }
}
