/** PostgreSQL through `pg`'s pool; `?` placeholders become `$1, $2, …`. */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { DriverConn, SqlDriver, SqlResult } from './db.js';
import type { DatabaseOptions } from './options.js';

/** SQLSTATEs that mean "the database is not available" rather than "this statement is wrong". */
const UNAVAILABLE = /^(08|53|57P|55P03|57014)/;

function toPositional(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

function wrap(client: pg.PoolClient | pg.Client): (sql: string, params?: readonly unknown[]) => Promise<SqlResult> {
  return async (sql, params = []) => {
    const r = await client.query(toPositional(sql), params as unknown[]);
    return { rows: r.rows as Record<string, unknown>[], affected: r.rowCount ?? 0 };
  };
}

export function pgDriver(opts: DatabaseOptions): SqlDriver {
  const config: pg.ClientConfig = {
    connectionString: opts.url,
    connectionTimeoutMillis: opts.timeoutMs,
    keepAlive: true,
    // Server-side limits too, so a statement whose client gave up does not hold locks for long.
    lock_timeout: Math.max(opts.timeoutMs, 1000),
    statement_timeout: Math.max(opts.timeoutMs * 5, 5000),
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'grok2api',
  };
  if (opts.tls !== 'off') {
    config.ssl = { rejectUnauthorized: opts.tls === 'verify', ...(opts.caFile ? { ca: readFileSync(opts.caFile, 'utf8') } : {}) };
  }
  const pool = new pg.Pool({ ...config, max: opts.poolSize, idleTimeoutMillis: 30_000 });
  // An idle connection that dies (database restart) is reported here; the pool replaces it.
  pool.on('error', () => {});

  return {
    dialect: 'pgsql',
    async acquire(): Promise<DriverConn> {
      const client = await pool.connect();
      return { query: wrap(client), release: (broken) => client.release(broken) };
    },
    async connectDedicated() {
      const client = new pg.Client(config);
      client.on('error', () => {});
      await client.connect();
      return { query: wrap(client), release: () => void client.end().catch(() => {}), end: () => client.end().catch(() => {}) };
    },
    listen(channel, onMessage, onConnect) {
      let client: pg.Client | null = null;
      let closed = false;
      let delay = 100;
      const connect = async (): Promise<void> => {
        if (closed) return;
        const c = new pg.Client(config);
        client = c;
        const retry = () => {
          c.removeAllListeners();
          c.on('error', () => {});
          void c.end().catch(() => {});
          if (closed || client !== c) return;
          client = null;
          // Reconnect with a capped backoff: 100 ms, 200 ms, … 2 s.
          setTimeout(() => void connect(), delay).unref();
          delay = Math.min(delay * 2, 2000);
        };
        c.on('error', retry);
        c.on('end', retry);
        c.on('notification', (n) => n.channel === channel && onMessage(n.payload ?? ''));
        try {
          await c.connect();
          await c.query(`LISTEN "${channel}"`);
          delay = 100;
          onConnect();
        } catch {
          retry();
        }
      };
      void connect();
      return {
        async close() {
          closed = true;
          const c = client;
          client = null;
          if (c) {
            c.removeAllListeners();
            c.on('error', () => {});
            await c.end().catch(() => {});
          }
        },
      };
    },
    isConnectionError(err) {
      if (!(err instanceof Error)) return false;
      // Errors the server sent carry a severity; everything else is the connection.
      const e = err as Error & { severity?: string; code?: string };
      if (e.severity === undefined) return true;
      return UNAVAILABLE.test(e.code ?? '');
    },
    isRetryable(err) {
      const code = (err as { code?: string } | null)?.code;
      return code === '40P01' || code === '40001';
    },
    end: () => pool.end(),
  };
}
