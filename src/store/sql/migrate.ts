/**
 * Start-up checks and schema migrations. Every instance runs this when it starts; a lock held on
 * the database (PostgreSQL advisory lock, MySQL GET_LOCK) makes instances that start together
 * wait for each other, so each migration is applied exactly once. Problems are one clear line
 * naming the database: unreachable, a server version too old, or a schema newer than this build.
 */
import type { SqlDb, SqlConn } from './db.js';
import { LATEST_VERSION, MIGRATIONS, type Tables } from './schema.js';

/** Oldest servers the SQL in this directory is written for. */
const MIN_POSTGRES = 12;
const MIN_MYSQL = [8, 0];
const MIN_MARIADB = [10, 11];

export class DatabaseStartError extends Error {
  override name = 'DatabaseStartError';
}

/** Throws when the reported server version is older than the SQL here needs. */
export function checkServerVersion(label: string, version: string): void {
  const [major = 0, minor = 0] = (version.match(/(\d+)\.(\d+)/)?.slice(1) ?? []).map(Number);
  let ok: boolean;
  let need: string;
  if (/mariadb/i.test(version)) {
    ok = major > MIN_MARIADB[0]! || (major === MIN_MARIADB[0] && minor >= MIN_MARIADB[1]!);
    need = `MariaDB ${MIN_MARIADB.join('.')}`;
  } else if (/postgres/i.test(version)) {
    ok = major >= MIN_POSTGRES;
    need = `PostgreSQL ${MIN_POSTGRES}`;
  } else {
    ok = major > MIN_MYSQL[0]! || (major === MIN_MYSQL[0] && minor >= MIN_MYSQL[1]!);
    need = `MySQL ${MIN_MYSQL.join('.')}`;
  }
  if (!ok) throw new DatabaseStartError(`the database (${label}) runs ${version.slice(0, 80)}, which is too old: grok2api needs ${need} or newer`);
}

async function serverVersion(c: SqlConn, dialect: SqlDb['dialect']): Promise<string> {
  if (dialect === 'pgsql') return `PostgreSQL ${String((await c.query('SHOW server_version')).rows[0]!.server_version)}`;
  const v = String((await c.query('SELECT VERSION() AS v')).rows[0]!.v);
  return /mariadb/i.test(v) ? `MariaDB ${v}` : `MySQL ${v}`;
}

/** Connects, checks the server and applies missing migrations under the database lock. */
export async function migrate(db: SqlDb, t: Tables, prefix: string, lockWaitMs = 60_000): Promise<{ applied: number[] }> {
  let conn;
  try {
    conn = await db.driver.connectDedicated();
  } catch (err) {
    throw new DatabaseStartError(`cannot reach the database (${db.label}): ${(err as Error).message || String(err)}; check database.url / DATABASE_URL`);
  }
  try {
    checkServerVersion(db.label, await serverVersion(conn, db.dialect));
    await lock(conn, db.dialect, prefix, lockWaitMs, db.label);
    try {
      return { applied: await applyMissing(conn, db, t) };
    } finally {
      await unlock(conn, db.dialect, prefix).catch(() => {});
    }
  } finally {
    await conn.end();
  }
}

const lockName = (prefix: string) => `grok2api-migrate:${prefix}`;

async function lock(c: SqlConn, dialect: SqlDb['dialect'], prefix: string, waitMs: number, label: string): Promise<void> {
  if (dialect === 'pgsql') {
    // lock_timeout bounds the wait; the lock is the session's until unlocked or disconnected.
    await c.query(`SET lock_timeout = ${Math.floor(waitMs)}`);
    await c.query('SELECT pg_advisory_lock(hashtext(?))', [lockName(prefix)]);
    await c.query('SET lock_timeout = 0');
    return;
  }
  const got = (await c.query('SELECT GET_LOCK(?, ?) AS got', [lockName(prefix), Math.ceil(waitMs / 1000)])).rows[0]!.got;
  if (Number(got) !== 1) throw new DatabaseStartError(`another instance kept the migration lock on ${label} for over ${Math.round(waitMs / 1000)} s`);
}

async function unlock(c: SqlConn, dialect: SqlDb['dialect'], prefix: string): Promise<void> {
  if (dialect === 'pgsql') await c.query('SELECT pg_advisory_unlock(hashtext(?))', [lockName(prefix)]);
  else await c.query('SELECT RELEASE_LOCK(?)', [lockName(prefix)]);
}

async function applyMissing(c: SqlConn, db: SqlDb, t: Tables): Promise<number[]> {
  await c.query(`CREATE TABLE IF NOT EXISTS ${t.migrations} (version INT PRIMARY KEY, name VARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)${db.sql.tableSuffix}`);
  const done = new Set((await c.query(`SELECT version FROM ${t.migrations}`)).rows.map((r) => Number(r.version)));
  const newest = Math.max(0, ...done);
  if (newest > LATEST_VERSION) {
    throw new DatabaseStartError(
      `the database (${db.label}, tables ${t.migrations.replace(/schema_migrations$/, '')}*) has schema version ${newest}, newer than this build of grok2api knows (${LATEST_VERSION}): upgrade grok2api, or use another database or database.table_prefix`,
    );
  }
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    // PostgreSQL runs DDL in transactions, so a failed migration leaves nothing behind; MySQL
    // commits each DDL statement, which is why every statement is written to be re-runnable.
    const transactional = db.dialect === 'pgsql';
    if (transactional) await c.query('BEGIN');
    try {
      for (const statement of m.statements(t, db.sql, db.dialect)) await c.query(statement);
      await c.query(`INSERT INTO ${t.migrations} (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, Date.now()]);
      if (transactional) await c.query('COMMIT');
    } catch (err) {
      if (transactional) await c.query('ROLLBACK').catch(() => {});
      throw new DatabaseStartError(`migrating the database (${db.label}) to schema version ${m.version} failed: ${(err as Error).message}`);
    }
    applied.push(m.version);
  }
  return applied;
}
