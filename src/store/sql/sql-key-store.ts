/**
 * Client keys in SQL (same contract as the local and Redis key stores): one row per key with its
 * digest in a unique column, and the sliding-window logs of its limits as JSON in `rate_log`. `hit` locks
 * the key's row (SELECT … FOR UPDATE), so a limit holds however many instances count against it.
 */
import { randomBytes } from 'node:crypto';
import { type ClientKey, type ClientKeyPatch, type HitResult, type KeyStore, type NewClientKey, type RateLimits, withKeyDefaults } from '../keys.js';
import { emptyRateLogs, slidingHit, type RateLogs } from '../rate-window.js';
import { num, numOrNull } from './db.js';
import type { SqlStore } from './sql-store.js';

type Stored = Omit<ClientKey, 'lastUsedAt'>;

export class SqlKeyStore implements KeyStore {
  constructor(private readonly store: SqlStore) {}

  private get table(): string {
    return this.store.t.clientKeys;
  }

  private decode(row: Record<string, unknown>): ClientKey {
    return { ...withKeyDefaults(JSON.parse(String(row.data)) as Stored), lastUsedAt: numOrNull(row.last_used_at) };
  }

  /** The connection belongs to the account store, which opens and closes it. */
  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async create(input: NewClientKey): Promise<ClientKey> {
    const key: Stored = { ...input, id: `key_${randomBytes(8).toString('hex')}`, createdAt: Date.now() };
    await this.store.db.query(`INSERT INTO ${this.table} (id, hash, created_at, data) VALUES (?, ?, ?, ?)`, [key.id, key.hash, key.createdAt, JSON.stringify(key)]);
    return { ...key, lastUsedAt: null };
  }

  async list(): Promise<ClientKey[]> {
    return (await this.store.db.query(`SELECT data, last_used_at FROM ${this.table} ORDER BY created_at, id`)).rows.map((r) => this.decode(r));
  }

  async get(id: string): Promise<ClientKey | null> {
    const row = (await this.store.db.query(`SELECT data, last_used_at FROM ${this.table} WHERE id = ?`, [id])).rows[0];
    return row ? this.decode(row) : null;
  }

  async findByHash(digest: string): Promise<ClientKey | null> {
    const row = (await this.store.db.query(`SELECT data, last_used_at FROM ${this.table} WHERE hash = ?`, [digest])).rows[0];
    return row ? this.decode(row) : null;
  }

  async update(id: string, patch: ClientKeyPatch): Promise<ClientKey | null> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    // New limits open fresh windows, as in the other stores.
    const resetWindows = patch.rpm !== undefined || patch.rpd !== undefined;
    return this.store.db.tx(async (c) => {
      const row = (await c.query(`SELECT data, last_used_at FROM ${this.table} WHERE id = ? FOR UPDATE`, [id])).rows[0];
      if (!row) return null;
      const next = { ...withKeyDefaults(JSON.parse(String(row.data)) as Stored), ...defined };
      await c.query(`UPDATE ${this.table} SET data = ?${resetWindows ? ', rate_log = NULL' : ''} WHERE id = ?`, [JSON.stringify(next), id]);
      return { ...next, lastUsedAt: numOrNull(row.last_used_at) };
    });
  }

  async revoke(id: string): Promise<boolean> {
    return (await this.store.db.query(`DELETE FROM ${this.table} WHERE id = ?`, [id])).affected > 0;
  }

  async count(): Promise<number> {
    return num((await this.store.db.query(`SELECT COUNT(*) AS n FROM ${this.table}`)).rows[0]?.n);
  }

  /**
   * Sliding windows (rate-window.ts) over the row's log, read and written under the row lock; a
   * refused request is not counted. An unknown key passes (the caller checked it).
   */
  async hit(id: string, limits: RateLimits, now = Date.now()): Promise<HitResult> {
    return this.store.db.tx(async (c) => {
      const row = (await c.query(`SELECT rate_log FROM ${this.table} WHERE id = ? FOR UPDATE`, [id])).rows[0];
      if (!row) return { ok: true };
      const logs = row.rate_log ? (JSON.parse(String(row.rate_log)) as RateLogs) : emptyRateLogs();
      const result = slidingHit(logs, limits, now);
      if (!result.ok) return result;
      await c.query(`UPDATE ${this.table} SET rate_log = ?, last_used_at = ? WHERE id = ?`, [JSON.stringify(logs), now, id]);
      return { ok: true };
    });
  }
}
