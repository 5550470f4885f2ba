/**
 * Admin sessions and the login throttle in SQL (same contract as the local and Redis stores):
 * one row per session, one row per throttled client. A try locks its client's row (SELECT … FOR
 * UPDATE after an insert-if-missing), so instances book slots one after another.
 */
import { claimLoginSlot, type LoginSlot, type SessionStore } from '../sessions.js';
import { num } from './db.js';
import type { SqlStore } from './sql-store.js';

export class SqlSessionStore implements SessionStore {
  constructor(private readonly store: SqlStore) {}

  /** The connection belongs to the account store, which opens and closes it. */
  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async create(lookupId: string, expiresAt: number): Promise<void> {
    const { t, db } = this.store;
    await db.query(`DELETE FROM ${t.adminSessions} WHERE expires_at <= ?`, [Date.now()]);
    await db.query(`INSERT INTO ${t.adminSessions} (lookup_id, expires_at) VALUES (?, ?)`, [lookupId, expiresAt]);
  }

  async isValid(lookupId: string, now = Date.now()): Promise<boolean> {
    const row = (await this.store.db.query(`SELECT expires_at FROM ${this.store.t.adminSessions} WHERE lookup_id = ?`, [lookupId])).rows[0];
    return row !== undefined && num(row.expires_at) > now;
  }

  async remove(lookupId: string): Promise<void> {
    await this.store.db.query(`DELETE FROM ${this.store.t.adminSessions} WHERE lookup_id = ?`, [lookupId]);
  }

  async removeAll(): Promise<number> {
    const now = Date.now();
    return this.store.db.tx(async (c) => {
      const live = num((await c.query(`SELECT COUNT(*) AS n FROM ${this.store.t.adminSessions} WHERE expires_at > ?`, [now])).rows[0]?.n);
      await c.query(`DELETE FROM ${this.store.t.adminSessions}`);
      return live;
    });
  }

  async claimLoginSlot(client: string, now = Date.now()): Promise<LoginSlot> {
    const { t, db } = this.store;
    return db.tx(async (c) => {
      await c.query(`INSERT INTO ${t.loginThrottle} (client, tries, next_at, expires_at) VALUES (?, 0, 0, 0) ${db.sql.onConflict(['client'], [])}`, [client]);
      const row = (await c.query(`SELECT tries, next_at, expires_at FROM ${t.loginThrottle} WHERE client = ? FOR UPDATE`, [client])).rows[0]!;
      const { slot, state } = claimLoginSlot({ tries: num(row.tries), nextAt: num(row.next_at), expiresAt: num(row.expires_at) }, now);
      if (slot.ok && state) await c.query(`UPDATE ${t.loginThrottle} SET tries = ?, next_at = ?, expires_at = ? WHERE client = ?`, [state.tries, state.nextAt, state.expiresAt, client]);
      // Forgotten streaks of other clients go now and then, so the table does not grow without end.
      if (Math.random() < 0.01) await c.query(`DELETE FROM ${t.loginThrottle} WHERE expires_at <= ? AND client <> ?`, [now, client]);
      return slot;
    });
  }

  async clearLoginFailures(client: string): Promise<void> {
    await this.store.db.query(`DELETE FROM ${this.store.t.loginThrottle} WHERE client = ?`, [client]);
  }
}
