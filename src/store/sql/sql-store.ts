/**
 * The shared store on PostgreSQL or MySQL/MariaDB: accounts, leases, locks, meta and runtime
 * settings, so any number of server processes serve one pool, like the Redis store.
 *
 * Accounts are rows holding the `Account` as JSON, and every change to them runs the same pure
 * rules as the other stores (../account-rules.ts, ../select.ts, ../report-rules.ts) inside a
 * transaction that first locks the `pool` row of the state table (SELECT … FOR UPDATE). That row
 * lock serialises every account mutation of every instance, exactly as a Redis Lua script is
 * serialised, so the per-account concurrency cap holds however many instances lease at once;
 * plain reads (list, get) do not take it.
 *
 * Leases are rows with an expiry that the holding instance renews; a lease whose holder died is
 * reclaimed by the next lease call. When the database cannot be reached, calls fail with 503
 * `store_unavailable` within `timeoutMs`; reports that could not be written are kept and
 * replayed once it answers again, so no concurrency slot stays taken.
 */
import { randomUUID } from 'node:crypto';
import type { Tier } from '../../core/models.js';
import { accountIdFor, normalizeToken } from '../../lib/account-id.js';
import { applyAccountPatch, findCandidates, matchesStatusFilter, modesForTier, newAccount, settleAccount } from '../account-rules.js';
import { applyOutcome, MAX_ERROR_LENGTH, type LeaseRecord } from '../report-rules.js';
import { pickAccount } from '../select.js';
import type { Account, AccountPatch, ImportItem, LeaseRequest, LeaseResult, ModeQuota, Outcome, PoolPolicy, StatusFilter, Store } from '../types.js';
import { ChangeFeed } from './changes.js';
import { marks, SqlDb, type SqlConn } from './db.js';
import { migrate } from './migrate.js';
import { mysqlDriver } from './mysql-driver.js';
import type { DatabaseOptions } from './options.js';
import { pgDriver } from './pg-driver.js';
import { tableNames, type Tables } from './schema.js';
import { databaseLabel, dialectOf, type Dialect } from './url.js';

export interface SqlStoreOptions extends DatabaseOptions {
  now?: () => number;
  random?: () => number;
  /** A lease not reported nor renewed within this time is reclaimed (its holder died). Default 120 s. */
  leaseTtlMs?: number;
  /** How often MySQL/MariaDB instances look for settings and task changes (ms). */
  pollMs?: number;
  /** Told about background problems (failed renewals/replays). */
  onError?: (err: unknown, what: string) => void;
}

/** Expired leases reclaimed per lease call (the rest by the next ones). */
const RECLAIM_BATCH = 100;

export class SqlStore implements Store {
  readonly kind: Dialect;
  readonly db: SqlDb;
  readonly t: Tables;
  readonly label: string;
  readonly changes: ChangeFeed;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly leaseTtlMs: number;
  /** Leases this process holds, renewed until reported. */
  private readonly open = new Set<string>();
  /** Reports that could not reach the database, replayed when it answers. */
  private pending: [string, Outcome, PoolPolicy][] = [];
  private timers: NodeJS.Timeout[] = [];
  private replaying = false;
  private lockQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SqlStoreOptions) {
    const dialect = dialectOf(opts.url);
    if (!dialect) throw new Error('database.url must start with postgres://, postgresql://, mysql:// or mariadb://');
    this.kind = dialect;
    this.label = databaseLabel(opts.url);
    this.db = new SqlDb(dialect === 'pgsql' ? pgDriver(opts) : mysqlDriver(opts), this.label, opts.timeoutMs);
    this.t = tableNames(opts.tablePrefix);
    this.changes = new ChangeFeed(this.db, this.t, `${opts.tablePrefix}changes`, opts.pollMs);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.leaseTtlMs = opts.leaseTtlMs ?? 120_000;
  }

  /** Checks the server, applies migrations (under the database's lock), starts lease renewal and the change feed. */
  async init(): Promise<void> {
    try {
      await migrate(this.db, this.t, this.opts.tablePrefix);
    } catch (err) {
      await this.db.end().catch(() => {});
      throw err;
    }
    await this.changes.start();
    const renew = setInterval(() => void this.renewLeases(), Math.max(1000, Math.floor(this.leaseTtlMs / 3)));
    const replay = setInterval(() => void this.replayPending(), 1000);
    this.timers = [renew, replay];
    for (const t of this.timers) t.unref();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.replayPending();
    await this.changes.close();
    await this.db.end();
  }

  ping(): Promise<boolean> {
    return this.db.ping();
  }

  /**
   * A transaction holding the pool lock: every account mutation runs in one. Returns the
   * round-robin cursor too. `durable: false` (lease, report: the contract does not ask them to
   * survive a crash, and leases are reclaimed anyway) lets PostgreSQL release the lock without
   * waiting for the WAL flush, which otherwise bounds how many leases per second the pool grants.
   */
  private poolTx<T>(fn: (c: SqlConn, cursor: string | null) => Promise<T>, durable = true): Promise<T> {
    return this.db.tx(async (c) => {
      const row = (await c.query(`SELECT value FROM ${this.t.state} WHERE name = 'pool' FOR UPDATE`)).rows[0];
      return fn(c, row?.value == null ? null : String(row.value));
    }, { durable });
  }

  private async loadAccount(c: SqlConn, id: string): Promise<Account | null> {
    const row = (await c.query(`SELECT data FROM ${this.t.accounts} WHERE id = ?`, [id])).rows[0];
    return row ? (JSON.parse(String(row.data)) as Account) : null;
  }

  private saveAccount(c: SqlConn, a: Account): Promise<unknown> {
    return c.query(`UPDATE ${this.t.accounts} SET data = ? WHERE id = ?`, [JSON.stringify(a), a.id]);
  }

  async importAccounts(items: ImportItem[]): Promise<{ added: Account[]; skipped: number }> {
    const now = this.now();
    const candidates: Account[] = [];
    for (const item of items) {
      const token = normalizeToken(item.token);
      if (token !== null) candidates.push(newAccount(accountIdFor(token), token, item.tier ?? 'basic', item.tags ?? [], now, item.kind));
    }
    if (candidates.length === 0) return { added: [], skipped: 0 };
    return this.poolTx(async (c) => {
      const ids = [...new Set(candidates.map((a) => a.id))];
      const existing = new Set((await c.query(`SELECT id FROM ${this.t.accounts} WHERE id IN (${marks(ids.length)})`, ids)).rows.map((r) => String(r.id)));
      let seq = Number((await c.query(`SELECT MAX(seq) AS s FROM ${this.t.accounts}`)).rows[0]?.s ?? 0);
      const added: Account[] = [];
      for (const a of candidates) {
        if (existing.has(a.id)) continue;
        existing.add(a.id);
        await c.query(`INSERT INTO ${this.t.accounts} (id, seq, data) VALUES (?, ?, ?)`, [a.id, ++seq, JSON.stringify(a)]);
        added.push(a);
      }
      return { added, skipped: candidates.length - added.length };
    });
  }

  async listAccounts(): Promise<Account[]> {
    const rows = (await this.db.query(`SELECT data FROM ${this.t.accounts} ORDER BY seq`)).rows;
    return rows.map((r) => JSON.parse(String(r.data)) as Account);
  }

  async getAccount(id: string): Promise<Account | null> {
    return this.db.run((c) => this.loadAccount(c, id));
  }

  async updateAccount(id: string, patch: AccountPatch): Promise<Account | null> {
    return this.poolTx(async (c) => {
      const acc = await this.loadAccount(c, id);
      if (!acc) return null;
      applyAccountPatch(acc, patch);
      await this.saveAccount(c, acc);
      return acc;
    });
  }

  async setQuotas(id: string, quotas: Record<string, ModeQuota>, tier?: Tier): Promise<void> {
    await this.poolTx(async (c) => {
      const acc = await this.loadAccount(c, id);
      if (!acc) return;
      acc.quotas = Object.fromEntries(Object.entries(quotas).map(([mode, q]) => [mode, { ...q }]));
      if (tier !== undefined) acc.tier = tier;
      await this.saveAccount(c, acc);
    });
  }

  async markInvalid(id: string, message: string): Promise<void> {
    await this.poolTx(async (c) => {
      const acc = await this.loadAccount(c, id);
      if (!acc) return;
      acc.status = 'invalid';
      acc.coolingUntil = null;
      acc.lastError = message.slice(0, MAX_ERROR_LENGTH);
      acc.lastErrorAt = this.now();
      await this.saveAccount(c, acc);
    });
  }

  async deleteAccounts(ids: string[]): Promise<number> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return 0;
    return this.poolTx(async (c) => (await c.query(`DELETE FROM ${this.t.accounts} WHERE id IN (${marks(unique.length)})`, unique)).affected);
  }

  /** Under the pool lock, so no lease or report changes an account between the check and the delete. */
  async deleteAccountsByStatus(filters: StatusFilter[]): Promise<string[]> {
    if (filters.length === 0) return [];
    return this.poolTx(async (c) => {
      const now = this.now();
      const accounts = (await c.query(`SELECT data FROM ${this.t.accounts}`)).rows.map((r) => JSON.parse(String(r.data)) as Account);
      const ids = accounts.filter((a) => matchesStatusFilter(a, filters, now)).map((a) => a.id);
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500);
        await c.query(`DELETE FROM ${this.t.accounts} WHERE id IN (${marks(batch.length)})`, batch);
      }
      return ids;
    });
  }

  async lease(req: LeaseRequest): Promise<LeaseResult> {
    const leaseId = randomUUID();
    try {
      const result = await this.poolTx(async (c, cursor): Promise<LeaseResult> => {
        const now = this.now();
        const accounts = (await c.query(`SELECT data FROM ${this.t.accounts} ORDER BY seq`)).rows.map((r) => JSON.parse(String(r.data)) as Account);
        const byId = new Map(accounts.map((a) => [a.id, a]));
        const dirty = new Set<Account>();
        // Leases of instances that died holding them: give their slots back. FOR UPDATE so a
        // renewal racing this waits, and then finds the lease gone (its report is a no-op).
        const expired = (await c.query(`SELECT id, account_id FROM ${this.t.leases} WHERE expires_at <= ? ORDER BY expires_at LIMIT ${RECLAIM_BATCH} FOR UPDATE`, [now])).rows;
        if (expired.length > 0) {
          for (const r of expired) {
            const a = byId.get(String(r.account_id));
            if (a) {
              a.inFlight = Math.max(0, a.inFlight - 1);
              dirty.add(a);
            }
          }
          await c.query(`DELETE FROM ${this.t.leases} WHERE id IN (${marks(expired.length)})`, expired.map((r) => r.id));
        }
        for (const a of accounts) if (settleAccount(a, now)) dirty.add(a);
        const found = findCandidates(accounts, req, now);
        let result: LeaseResult;
        if (!found.ok) {
          result = { ok: false, reason: found.reason, retryAfterMs: found.retryAfterMs === null ? null : Math.ceil(found.retryAfterMs) };
        } else {
          const pick = pickAccount(found.accounts, found.mode, req.strategy, cursor, this.random);
          if (pick.rrCursor !== cursor) await c.query(`UPDATE ${this.t.state} SET value = ? WHERE name = 'pool'`, [pick.rrCursor]);
          const acc = pick.account;
          acc.inFlight++;
          dirty.add(acc);
          const rec: LeaseRecord = { accountId: acc.id, mode: found.mode, tierModes: [...modesForTier(req, acc.tier)], at: now };
          await c.query(`INSERT INTO ${this.t.leases} (id, account_id, expires_at, data) VALUES (?, ?, ?, ?)`, [leaseId, acc.id, now + this.leaseTtlMs, JSON.stringify(rec)]);
          result = { ok: true, lease: { leaseId, accountId: acc.id, token: acc.token, tier: acc.tier, mode: found.mode } };
        }
        for (const a of dirty) await this.saveAccount(c, a);
        return result;
      }, false);
      // Renewed from now on, until reported.
      if (result.ok) this.open.add(leaseId);
      return result;
    } catch (err) {
      // The commit may have happened with only its reply lost: release that lease once the
      // database answers again (a report of a lease that never came to exist does nothing).
      this.pending.push([leaseId, { kind: 'aborted' }, { failThreshold: 0, cooldownMs: 0 }]);
      throw err;
    }
  }

  async report(leaseId: string, outcome: Outcome, policy: PoolPolicy): Promise<void> {
    if (outcome.kind === 'failure') outcome = { ...outcome, message: outcome.message.slice(0, MAX_ERROR_LENGTH) };
    try {
      await this.sendReport(leaseId, outcome, policy);
    } catch (err) {
      if ((err as { code?: string }).code !== 'store_unavailable') throw err;
      // Keep it: the slot must be freed once the database is back (the lease is renewed meanwhile).
      this.pending.push([leaseId, outcome, policy]);
    }
  }

  private async sendReport(leaseId: string, outcome: Outcome, policy: PoolPolicy): Promise<void> {
    await this.poolTx(async (c) => {
      const row = (await c.query(`SELECT data FROM ${this.t.leases} WHERE id = ?`, [leaseId])).rows[0];
      if (!row) return;
      await c.query(`DELETE FROM ${this.t.leases} WHERE id = ?`, [leaseId]);
      const rec = JSON.parse(String(row.data)) as LeaseRecord;
      const acc = await this.loadAccount(c, rec.accountId);
      if (!acc) return;
      const now = this.now();
      settleAccount(acc, now);
      applyOutcome(acc, rec, outcome, policy, now);
      await this.saveAccount(c, acc);
    }, false);
    this.open.delete(leaseId);
  }

  /** Number of reports waiting for the database to come back. */
  get pendingReports(): number {
    return this.pending.length;
  }

  private async replayPending(): Promise<void> {
    if (this.replaying || this.pending.length === 0) return;
    this.replaying = true;
    const batch = this.pending;
    this.pending = [];
    try {
      for (const [i, [id, outcome, policy]] of batch.entries()) {
        try {
          await this.sendReport(id, outcome, policy);
        } catch (err) {
          this.pending.push(...batch.slice(i));
          this.opts.onError?.(err, 'replaying lease reports');
          return;
        }
      }
    } finally {
      this.replaying = false;
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.open.size === 0) return;
    const ids = [...this.open];
    try {
      await this.db.query(`UPDATE ${this.t.leases} SET expires_at = ? WHERE id IN (${marks(ids.length)})`, [this.now() + this.leaseTtlMs, ...ids]);
    } catch (err) {
      this.opts.onError?.(err, 'renewing leases');
    }
  }

  async withLock<T>(name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    // Attempts from this process reach the database in call order (as on one Redis connection),
    // so the first caller wins over the ones that asked after it.
    const attempt = this.lockQueue.then(() => this.tryLock(name, ttlMs));
    this.lockQueue = attempt.catch(() => {});
    const holder = await attempt;
    if (holder === null) return { ok: false };
    try {
      return { ok: true, value: await fn() };
    } finally {
      await this.db.query(`DELETE FROM ${this.t.locks} WHERE name = ? AND holder = ?`, [name, holder]).catch(() => {});
    }
  }

  /** Takes the named lock if it is free or expired; returns the holder token, or null. */
  private async tryLock(name: string, ttlMs: number): Promise<string | null> {
    const holder = randomUUID();
    const now = this.now();
    const { proposed, onConflict } = this.db.sql;
    const cur = (col: string) => (this.db.dialect === 'pgsql' ? `${this.t.locks}.${col}` : col);
    // One statement: takes the lock when it is free or expired, leaves it alone otherwise. (MySQL
    // assigns left to right: `holder` changes only when the lock was free, and `expires_at` follows it.)
    const taken = `${cur('expires_at')} <= ?`;
    await this.db.query(
      `INSERT INTO ${this.t.locks} (name, holder, expires_at) VALUES (?, ?, ?) ${
        this.db.dialect === 'pgsql'
          ? `ON CONFLICT (name) DO UPDATE SET holder = ${proposed('holder')}, expires_at = ${proposed('expires_at')} WHERE ${taken}`
          : onConflict(['name'], [`holder = IF(${taken}, ${proposed('holder')}, holder)`, `expires_at = IF(holder = ${proposed('holder')}, ${proposed('expires_at')}, expires_at)`])
      }`,
      [name, holder, now + ttlMs, now],
    );
    const row = (await this.db.query(`SELECT holder FROM ${this.t.locks} WHERE name = ?`, [name])).rows[0];
    return row?.holder === holder ? holder : null;
  }

  async getMeta(key: string): Promise<string | null> {
    const row = (await this.db.query(`SELECT value FROM ${this.t.meta} WHERE name = ?`, [key])).rows[0];
    return row ? String(row.value) : null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    const { proposed, onConflict } = this.db.sql;
    await this.db.query(`INSERT INTO ${this.t.meta} (name, value) VALUES (?, ?) ${onConflict(['name'], [`value = ${proposed('value')}`])}`, [key, value]);
  }

  /** Runtime settings overrides (JSON object); null when none were saved. */
  async loadSettings(): Promise<string | null> {
    const row = (await this.db.query(`SELECT value FROM ${this.t.state} WHERE name = 'settings'`)).rows[0];
    return row?.value == null ? null : String(row.value);
  }

  /**
   * Read-modify-write of the settings overrides under the settings row's lock (two instances
   * saving at once both keep their change), then a version bump every instance notices.
   */
  async updateSettings(merge: (current: string | null) => string): Promise<void> {
    await this.db.tx(async (c) => {
      const row = (await c.query(`SELECT value FROM ${this.t.state} WHERE name = 'settings' FOR UPDATE`)).rows[0];
      const next = merge(row?.value == null ? null : String(row.value));
      await c.query(`UPDATE ${this.t.state} SET value = ?, version = version + 1 WHERE name = 'settings'`, [next]);
      await this.changes.announce(c, { t: 'settings' });
    });
  }
}
