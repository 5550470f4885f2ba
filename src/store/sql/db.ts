/**
 * One small database layer for PostgreSQL and MySQL/MariaDB, over the drivers' own pools
 * (./pg-driver.ts, ./mysql-driver.ts). SQL is written once with `?` placeholders; the few
 * statements that differ between the dialects come from `SqlDialect`.
 *
 * Every call has a deadline (`timeoutMs`): a database that is down fails at once (connection
 * refused), and one that hangs fails when the deadline passes; either way the caller gets the
 * 503 `store_unavailable` every route understands, and a connection caught mid-query is dropped
 * rather than reused. The pools reconnect by themselves, so service resumes when the database is back.
 */
import { AppError } from '../../errors.js';
import type { Dialect } from './url.js';

export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows changed by an INSERT/UPDATE/DELETE. */
  affected: number;
}

/** One connection (inside a transaction when given to a `tx` callback). */
export interface SqlConn {
  query(sql: string, params?: readonly unknown[]): Promise<SqlResult>;
}

/** A pooled connection as a driver hands it out. */
export interface DriverConn extends SqlConn {
  /** Back to the pool, or closed for good when `broken` (its state is unknown after a deadline). */
  release(broken: boolean): void;
}

export interface SqlDriver {
  readonly dialect: Dialect;
  acquire(): Promise<DriverConn>;
  /** A dedicated connection outside the pool (migration lock, LISTEN); the caller ends it. */
  connectDedicated(): Promise<DriverConn & { end(): Promise<void> }>;
  /** True when `err` means the database could not be reached (as opposed to a rejected statement). */
  isConnectionError(err: unknown): boolean;
  /**
   * PostgreSQL only: LISTEN on `channel` on a dedicated connection that reconnects by itself;
   * `onConnect` runs after every (re)connection, since notifications sent meanwhile were missed.
   */
  listen?(channel: string, onMessage: (payload: string) => void, onConnect: () => void): { close(): Promise<void> };
  /** Deadlocks and serialization failures: the transaction may simply be run again. */
  isRetryable(err: unknown): boolean;
  end(): Promise<void>;
}

/** The statements whose syntax differs between the dialects. */
export interface SqlDialect {
  /** How an upsert refers to the value the INSERT proposed for `col`. */
  proposed(col: string): string;
  /** `INSERT … VALUES …` followed by this turns it into an upsert on the primary key `keys`. */
  onConflict(keys: string[], assignments: string[]): string;
  /** Text column for whole JSON documents (responses may be megabytes). */
  bigText: string;
  /** Text column for small JSON documents. */
  text: string;
  /** Auto-increment primary key column. */
  serial: string;
  /** Table options appended to CREATE TABLE. */
  tableSuffix: string;
}

export const DIALECTS: Record<Dialect, SqlDialect> = {
  pgsql: {
    proposed: (col) => `EXCLUDED.${col}`,
    onConflict: (keys, assignments) => `ON CONFLICT (${keys.join(', ')}) DO ${assignments.length ? `UPDATE SET ${assignments.join(', ')}` : 'NOTHING'}`,
    bigText: 'TEXT',
    text: 'TEXT',
    serial: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
    tableSuffix: '',
  },
  mysql: {
    proposed: (col) => `VALUES(${col})`,
    onConflict: (keys, assignments) => `ON DUPLICATE KEY UPDATE ${assignments.length ? assignments.join(', ') : `${keys[0]} = ${keys[0]}`}`,
    bigText: 'LONGTEXT',
    text: 'MEDIUMTEXT',
    serial: 'BIGINT AUTO_INCREMENT PRIMARY KEY',
    // Binary collation: ids and digests compare byte for byte, as in the other stores.
    tableSuffix: ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  },
};

class DeadlineError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

export function storeUnavailable(label: string): AppError {
  return new AppError(
    503,
    'server_error',
    'store_unavailable',
    `The account store (${label}) is unreachable. The server reconnects by itself; retry in a few seconds.`,
    null,
    2,
  );
}

export class SqlDb {
  readonly dialect: Dialect;
  readonly sql: SqlDialect;

  constructor(
    readonly driver: SqlDriver,
    /** Names the database in errors, without credentials. */
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    this.dialect = driver.dialect;
    this.sql = DIALECTS[driver.dialect];
  }

  /** One statement on any pooled connection. */
  query(sql: string, params: readonly unknown[] = []): Promise<SqlResult> {
    return this.run((c) => c.query(sql, params));
  }

  /**
   * Runs `fn` in a transaction (committed when it resolves, rolled back when it throws). A
   * deadlock or serialization failure runs it again, up to three times in all.
   */
  async tx<T>(fn: (c: SqlConn) => Promise<T>, opts: { durable?: boolean } = {}): Promise<T> {
    // PostgreSQL: a transaction that need not survive a crash commits without waiting for the WAL
    // flush (one round trip with the BEGIN, which takes no parameters).
    const begin = opts.durable === false && this.dialect === 'pgsql' ? 'BEGIN; SET LOCAL synchronous_commit = off' : 'BEGIN';
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(async (c) => {
          await c.query(begin);
          try {
            const value = await fn(c);
            await c.query('COMMIT');
            return value;
          } catch (err) {
            await c.query('ROLLBACK').catch(() => {});
            throw err;
          }
        });
      } catch (err) {
        if (attempt >= 3 || !this.driver.isRetryable(err)) throw err;
      }
    }
  }

  /**
   * Runs `fn` on one pooled connection within the deadline. Connection failures and deadlines
   * become `store_unavailable`; a statement the database rejected is rethrown as it is (a bug).
   */
  async run<T>(fn: (c: SqlConn) => Promise<T>, timeoutMs = this.timeoutMs): Promise<T> {
    let conn: DriverConn | null = null;
    let settled = false;
    const work = this.driver.acquire().then((c) => {
      // The deadline passed while connecting: the connection itself is fine, give it back.
      if (settled) {
        c.release(false);
        throw new DeadlineError(timeoutMs);
      }
      conn = c;
      return fn(c);
    });
    // The losing side of the race must not surface as an unhandled rejection.
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // setImmediate: give the poll phase one turn first, so an answer that arrived while this
      // process was busy (event loop blocked past the deadline) still counts.
      timer = setTimeout(() => setImmediate(() => reject(new DeadlineError(timeoutMs))), timeoutMs);
    });
    try {
      const value = await Promise.race([work, deadline]);
      settled = true;
      (conn as DriverConn | null)?.release(false);
      return value;
    } catch (err) {
      settled = true;
      const unreachable = err instanceof DeadlineError || this.driver.isConnectionError(err);
      (conn as DriverConn | null)?.release(unreachable);
      if (unreachable) throw storeUnavailable(this.label);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  async ping(): Promise<boolean> {
    try {
      await this.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  end(): Promise<void> {
    return this.driver.end();
  }
}

/** `?, ?, ?` for `n` parameters. */
export const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** Numbers come back as strings from BIGINT columns (pg) and DECIMAL sums (MySQL). */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
