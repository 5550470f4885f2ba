/** MySQL 8 and MariaDB 10.11+ through `mysql2`'s pool. */
import { readFileSync } from 'node:fs';
import mysql from 'mysql2';
import type { DriverConn, SqlDriver, SqlResult } from './db.js';
import type { DatabaseOptions } from './options.js';

/** Server errors that mean "not available now": too many connections, shutdown, lock wait timeout, lost query. */
const UNAVAILABLE_ERRNO = new Set([1040, 1053, 1205, 2006, 2013, 1927, 3024]);

type Raw = mysql.Connection | mysql.PoolConnection;

function wrap(conn: Raw): (sql: string, params?: readonly unknown[]) => Promise<SqlResult> {
  return (sql, params = []) =>
    new Promise((resolve, reject) => {
      conn.query(sql, params as unknown[], (err, result) => {
        if (err) return reject(err);
        if (Array.isArray(result)) resolve({ rows: result as Record<string, unknown>[], affected: 0 });
        else resolve({ rows: [], affected: (result as mysql.ResultSetHeader).affectedRows ?? 0 });
      });
    });
}

/** Runs on every new connection: the same isolation as PostgreSQL's default, and lock waits bounded like there. */
function sessionSetup(timeoutMs: number): string[] {
  return ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', `SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(timeoutMs / 1000))}`, "SET SESSION time_zone = '+00:00'"];
}

export function connectionOptions(opts: DatabaseOptions): mysql.ConnectionOptions {
  const u = new URL(opts.url);
  const options: mysql.ConnectionOptions = {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
    connectTimeout: opts.timeoutMs,
    enableKeepAlive: true,
    supportBigNumbers: true,
    charset: 'utf8mb4_bin',
  };
  if (opts.tls !== 'off') options.ssl = { rejectUnauthorized: opts.tls === 'verify', ...(opts.caFile ? { ca: readFileSync(opts.caFile, 'utf8') } : {}) };
  return options;
}

export function mysqlDriver(opts: DatabaseOptions): SqlDriver {
  const options = connectionOptions(opts);
  const setup = sessionSetup(opts.timeoutMs);
  const pool = mysql.createPool({ ...options, connectionLimit: opts.poolSize, maxIdle: opts.poolSize, idleTimeout: 30_000 });
  // Queued on the connection before any statement of ours, so they always run first.
  pool.on('connection', (conn) => {
    conn.on('error', () => {});
    for (const s of setup) conn.query(s, () => {});
  });

  return {
    dialect: 'mysql',
    acquire(): Promise<DriverConn> {
      return new Promise((resolve, reject) => {
        pool.getConnection((err, conn) => {
          if (err) return reject(err);
          resolve({ query: wrap(conn), release: (broken) => (broken ? conn.destroy() : conn.release()) });
        });
      });
    },
    async connectDedicated() {
      const conn = mysql.createConnection(options);
      conn.on('error', () => {});
      await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
      const query = wrap(conn);
      for (const s of setup) await query(s);
      const end = () => new Promise<void>((resolve) => conn.end(() => resolve()));
      return { query, release: () => void end(), end };
    },
    isConnectionError(err) {
      if (!(err instanceof Error)) return false;
      const e = err as Error & { fatal?: boolean; sqlState?: string; errno?: number };
      if (e.fatal || e.sqlState === undefined) return true;
      return UNAVAILABLE_ERRNO.has(e.errno ?? 0);
    },
    isRetryable(err) {
      return (err as { errno?: number } | null)?.errno === 1213;
    },
    end: () => new Promise<void>((resolve) => pool.end(() => resolve())),
  };
}
