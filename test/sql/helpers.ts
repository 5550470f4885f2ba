/**
 * The PostgreSQL and MariaDB the SQL store tests use: dedicated test databases that .ci/run creates
 * (TEST_PG_URL / TEST_MYSQL_URL to point elsewhere). Every test file works under its own table
 * prefix, so files running in parallel never see each other's rows, and drops its tables after.
 */
import { randomBytes } from 'node:crypto';
import { mysqlDriver } from '../../src/store/sql/mysql-driver.js';
import type { DatabaseOptions } from '../../src/store/sql/options.js';
import { pgDriver } from '../../src/store/sql/pg-driver.js';
import { SqlStore, type SqlStoreOptions } from '../../src/store/sql/sql-store.js';
import type { Dialect } from '../../src/store/sql/url.js';

export const TEST_DATABASES: Record<Dialect, string> = {
  pgsql: process.env.TEST_PG_URL || 'postgres://g2a_test:g2a_test@127.0.0.1:5432/g2a_test',
  mysql: process.env.TEST_MYSQL_URL || 'mysql://g2a_test:g2a_test@127.0.0.1:3306/g2a_test',
};

export const DIALECTS: Dialect[] = ['pgsql', 'mysql'];

/** A table prefix nobody else uses (lower case, at most 31 characters). */
export function uniqueTablePrefix(label = 't'): string {
  return `t_${label.replace(/[^a-z0-9]/g, '').slice(0, 12)}_${randomBytes(4).toString('hex')}_`;
}

export function testOptions(dialect: Dialect, tablePrefix: string, over: Partial<DatabaseOptions> = {}): DatabaseOptions {
  return { url: TEST_DATABASES[dialect], poolSize: 10, tls: 'off', caFile: '', tablePrefix, timeoutMs: 5000, ...over };
}

/** Opens (and migrates) a store on the test database; the caller closes it. */
export async function openTestStore(dialect: Dialect, tablePrefix: string, over: Partial<SqlStoreOptions> = {}): Promise<SqlStore> {
  const store = new SqlStore({ ...testOptions(dialect, tablePrefix), pollMs: 100, ...over });
  await store.init();
  return store;
}

/** Empties every table of a migrated store (faster than migrating a fresh prefix per test). */
export async function wipe(store: SqlStore): Promise<void> {
  const t = store.t;
  await store.db.tx(async (c) => {
    for (const table of [t.accounts, t.leases, t.meta, t.locks, t.clientKeys, t.tasks, t.responses, t.statsBuckets, t.statsDims, t.requestLog, t.statsFlushes, t.keyUsage]) await c.query(`DELETE FROM ${table}`);
    await c.query(`UPDATE ${t.state} SET value = NULL`);
  });
}

async function withConnection<T>(dialect: Dialect, fn: (q: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  const opts = testOptions(dialect, 'unused_');
  const driver = dialect === 'pgsql' ? pgDriver(opts) : mysqlDriver(opts);
  const conn = await driver.connectDedicated();
  try {
    return await fn(async (sql, params) => (await conn.query(sql, params)).rows);
  } finally {
    await conn.end();
    await driver.end();
  }
}

/** Drops every table whose name starts with `prefix` (never anything else). */
export async function dropTables(dialect: Dialect, prefix: string): Promise<void> {
  await withConnection(dialect, async (q) => {
    const rows =
      dialect === 'pgsql'
        ? await q('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()')
        : await q('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()');
    const mine = rows.map((r) => String(r.name ?? r.NAME)).filter((n) => n.startsWith(prefix));
    for (const name of mine) await q(`DROP TABLE IF EXISTS ${name}`);
  });
}

/** Runs one statement on the test database outside any store (assertions on raw rows). */
export function rawQuery(dialect: Dialect, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  return withConnection(dialect, (q) => q(sql, params));
}

/** Fails loudly (the suite must not silently skip) when a test database does not answer. */
export async function assertDatabaseUp(dialect: Dialect): Promise<void> {
  try {
    await rawQuery(dialect, 'SELECT 1');
  } catch (err) {
    throw new Error(`${dialect === 'pgsql' ? 'PostgreSQL' : 'MariaDB/MySQL'} is required for these tests and does not answer at ${TEST_DATABASES[dialect].replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}); .ci/run starts it and creates the test database`);
  }
}
