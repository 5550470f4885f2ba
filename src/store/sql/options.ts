import type { Config } from '../../config/schema.js';

/** How to reach the database (the `[database]` config section). */
export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** `off`: as the URL says (e.g. `?sslmode=require` for PostgreSQL); `require`: encrypted, certificate not checked; `verify`: checked. */
  tls: 'off' | 'require' | 'verify';
  /** PEM file with the CA that signed the server's certificate (self-signed or private CA). */
  caFile: string;
  /** Every table's name starts with it, so several deployments (or test runs) can share one database. */
  tablePrefix: string;
  /** Longest wait for the database in one store call before it answers 503 store_unavailable. */
  timeoutMs: number;
}

export function databaseOptions(config: Config): DatabaseOptions {
  const d = config.database;
  return { url: d.url, poolSize: d.pool_size, tls: d.tls, caFile: d.ca_file, tablePrefix: d.table_prefix, timeoutMs: d.timeout_ms };
}
