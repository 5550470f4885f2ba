/**
 * Client keys in SQL (same contract as the local and Redis key stores): one row per key with its
 * digest in a unique column, and the two rate windows as counter + end-time columns. `hit` locks
 * the key's row (SELECT … FOR UPDATE), so a limit holds however many instances count against it.
 */
import { randomBytes } from 'node:crypto';
import { RPD_WINDOW_MS, RPM_WINDOW_MS, type ClientKey, type ClientKeyPatch, type HitResult, type KeyStore, type NewClientKey, type RateLimits } from '../keys.js';
import { num, numOrNull } from './db.js';
import type { SqlStore } from './sql-store.js';

type Stored = Omit<ClientKey, 'lastUsedAt'>;

export class SqlKeyStore implements KeyStore {
  constructor(private readonly store: SqlStore) {}

  private get table(): string {
    return this.store.t.clientKeys;
  }

  private decode(row: Record<string, unknown>): ClientKey {
    return { ...(JSON.parse(String(row.data)) as Stored), lastUsedAt: numOrNull(row.last_used_at) };
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
      const next = { ...(JSON.parse(String(row.data)) as Stored), ...defined };
      await c.query(`UPDATE ${this.table} SET data = ?${resetWindows ? ', rpm_count = 0, rpm_until = 0, rpd_count = 0, rpd_until = 0' : ''} WHERE id = ?`, [JSON.stringify(next), id]);
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
   * Each window opens with the first request after the previous one closed and lasts 60 s (rpm)
   * or 24 h (rpd); a refused request is not counted. An unknown key passes (the caller checked it).
   */
  async hit(id: string, limits: RateLimits, now = Date.now()): Promise<HitResult> {
    return this.store.db.tx(async (c) => {
      const row = (await c.query(`SELECT rpm_count, rpm_until, rpd_count, rpd_until FROM ${this.table} WHERE id = ? FOR UPDATE`, [id])).rows[0];
      if (!row) return { ok: true };
      const windows = [
        { limit: limits.rpm, count: num(row.rpm_count), until: num(row.rpm_until), size: RPM_WINDOW_MS, name: 'rpm' as const },
        { limit: limits.rpd, count: num(row.rpd_count), until: num(row.rpd_until), size: RPD_WINDOW_MS, name: 'rpd' as const },
      ];
      for (const w of windows) {
        const open = w.until > now;
        if (w.limit !== null && (open ? w.count : 0) >= w.limit) return { ok: false, limit: w.name, retryAfterMs: Math.max(1, open ? w.until - now : w.size) };
      }
      const [m, d] = windows.map((w) => (w.until > now ? { count: w.count + 1, until: w.until } : { count: 1, until: now + w.size }));
      await c.query(`UPDATE ${this.table} SET rpm_count = ?, rpm_until = ?, rpd_count = ?, rpd_until = ?, last_used_at = ? WHERE id = ?`, [m!.count, m!.until, d!.count, d!.until, now, id]);
      return { ok: true };
    });
  }
}
