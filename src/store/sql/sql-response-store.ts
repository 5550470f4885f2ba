/**
 * Stored `/v1/responses` results in SQL: one row per response with its absolute expiry. Reads
 * ignore expired rows; a sweep every few minutes deletes them. Records are immutable, so a put is
 * one upsert and needs no locking.
 */
import type { ResponseStore, StoredResponse } from '../responses.js';
import type { SqlStore } from './sql-store.js';

export class SqlResponseStore implements ResponseStore {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: SqlStore,
    private readonly now: () => number = Date.now,
    sweepMs = 5 * 60_000,
  ) {
    if (sweepMs > 0) {
      this.timer = setInterval(() => void this.sweep().catch(() => {}), sweepMs);
      this.timer.unref();
    }
  }

  private get table(): string {
    return this.store.t.responses;
  }

  async put(record: StoredResponse): Promise<void> {
    if (record.expiresAt <= this.now()) return;
    const { proposed, onConflict } = this.store.db.sql;
    await this.store.db.query(
      `INSERT INTO ${this.table} (id, expires_at, data) VALUES (?, ?, ?) ${onConflict(['id'], [`expires_at = ${proposed('expires_at')}`, `data = ${proposed('data')}`])}`,
      [record.id, record.expiresAt, JSON.stringify(record)],
    );
  }

  async get(id: string): Promise<StoredResponse | null> {
    const row = (await this.store.db.query(`SELECT data FROM ${this.table} WHERE id = ? AND expires_at > ?`, [id, this.now()])).rows[0];
    return row ? (JSON.parse(String(row.data)) as StoredResponse) : null;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.store.db.query(`DELETE FROM ${this.table} WHERE id = ? AND expires_at > ?`, [id, this.now()])).affected > 0;
  }

  /** Deletes expired records; returns how many. */
  async sweep(): Promise<number> {
    return (await this.store.db.query(`DELETE FROM ${this.table} WHERE expires_at <= ?`, [this.now()])).affected;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
