/**
 * The SQL schema as numbered migrations, applied in order at start-up (./migrate.ts). A released
 * migration is never edited: a change is a new entry at the end. Every table name starts with
 * the configured prefix (database.table_prefix).
 */
import type { SqlDialect } from './db.js';
import type { Dialect } from './url.js';

export interface Tables {
  migrations: string;
  /** id, seq (import order), data (the Account as JSON). */
  accounts: string;
  /** Open leases: id, account_id, expires_at, data (the LeaseRecord as JSON). */
  leases: string;
  /** Named rows: `pool` (the lease mutex, its value the round-robin cursor), `settings` (overrides JSON + version), `stats` (flush mutex). */
  state: string;
  meta: string;
  locks: string;
  clientKeys: string;
  tasks: string;
  responses: string;
  statsBuckets: string;
  statsDims: string;
  /** The request log: id (order among equal times), data (the entry as JSON), and since migration 6 the filtered columns time_ms, key_id, account, model, status, route. */
  requestLog: string;
  statsFlushes: string;
  /** Per-key usage per UTC day: day, key_id, key_name and the USAGE_METRICS of stats/log-query.ts. */
  keyUsage: string;
  /** Admin sessions: lookup_id (HMAC of the cookie), expires_at. */
  adminSessions: string;
  /** Login throttle per client: tries, next_at, expires_at (store/sessions.ts). */
  loginThrottle: string;
}

export function tableNames(prefix: string): Tables {
  const t = (name: string) => `${prefix}${name}`;
  return {
    migrations: t('schema_migrations'),
    accounts: t('accounts'),
    leases: t('leases'),
    state: t('state'),
    meta: t('meta'),
    locks: t('locks'),
    clientKeys: t('client_keys'),
    tasks: t('video_tasks'),
    responses: t('responses'),
    statsBuckets: t('stats_buckets'),
    statsDims: t('stats_dims'),
    requestLog: t('request_log'),
    statsFlushes: t('stats_flushes'),
    keyUsage: t('key_usage_days'),
    adminSessions: t('admin_sessions'),
    loginThrottle: t('login_throttle'),
  };
}

export interface Migration {
  version: number;
  name: string;
  statements(t: Tables, sql: SqlDialect, dialect: Dialect): string[];
}

/** CREATE TABLE plus its secondary indexes (inline on MySQL, which has no CREATE INDEX IF NOT EXISTS). */
function table(dialect: Dialect, sql: SqlDialect, name: string, columns: string[], indexes: [string, string][] = []): string[] {
  if (dialect === 'mysql') {
    const inline = indexes.map(([suffix, cols]) => `INDEX ${name}_${suffix} (${cols})`);
    return [`CREATE TABLE IF NOT EXISTS ${name} (${[...columns, ...inline].join(', ')})${sql.tableSuffix}`];
  }
  return [`CREATE TABLE IF NOT EXISTS ${name} (${columns.join(', ')})`, ...indexes.map(([suffix, cols]) => `CREATE INDEX IF NOT EXISTS ${name}_${suffix} ON ${name} (${cols})`)];
}

const METRICS = ['total', 'success', 'failed', 'ms', 'tokens'].map((m) => `${m} BIGINT NOT NULL DEFAULT 0`);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, leases, keys, settings, tasks, responses, stats',
    statements: (t, sql, d) => [
      ...table(d, sql, t.accounts, ['id VARCHAR(64) PRIMARY KEY', 'seq BIGINT NOT NULL', `data ${sql.text} NOT NULL`]),
      ...table(d, sql, t.leases, ['id VARCHAR(64) PRIMARY KEY', 'account_id VARCHAR(64) NOT NULL', 'expires_at BIGINT NOT NULL', `data ${sql.text} NOT NULL`], [['expiry', 'expires_at']]),
      ...table(d, sql, t.state, ['name VARCHAR(64) PRIMARY KEY', `value ${sql.bigText} NULL`, 'version BIGINT NOT NULL DEFAULT 0']),
      `INSERT INTO ${t.state} (name, version) VALUES ('pool', 0), ('settings', 0), ('stats', 0) ${sql.onConflict(['name'], [])}`,
      ...table(d, sql, t.meta, ['name VARCHAR(191) PRIMARY KEY', `value ${sql.text} NOT NULL`]),
      ...table(d, sql, t.locks, ['name VARCHAR(191) PRIMARY KEY', 'holder VARCHAR(64) NOT NULL', 'expires_at BIGINT NOT NULL']),
      ...table(d, sql, t.clientKeys, [
        'id VARCHAR(64) PRIMARY KEY',
        'hash VARCHAR(128) NOT NULL UNIQUE',
        'created_at BIGINT NOT NULL',
        `data ${sql.text} NOT NULL`,
        'last_used_at BIGINT NULL',
        'rpm_count BIGINT NOT NULL DEFAULT 0',
        'rpm_until BIGINT NOT NULL DEFAULT 0',
        'rpd_count BIGINT NOT NULL DEFAULT 0',
        'rpd_until BIGINT NOT NULL DEFAULT 0',
      ]),
      ...table(
        d,
        sql,
        t.tasks,
        ['id VARCHAR(191) PRIMARY KEY', 'created_at BIGINT NOT NULL', 'status VARCHAR(16) NOT NULL', 'updated_at BIGINT NOT NULL', 'rev BIGINT NOT NULL DEFAULT 0', `data ${sql.text} NOT NULL`],
        [['status', 'status']],
      ),
      ...table(d, sql, t.responses, ['id VARCHAR(191) PRIMARY KEY', 'expires_at BIGINT NOT NULL', `data ${sql.bigText} NOT NULL`], [['expiry', 'expires_at']]),
      ...table(d, sql, t.statsBuckets, ['kind CHAR(1) NOT NULL', 'bucket BIGINT NOT NULL', ...METRICS, 'expires_at BIGINT NULL', 'PRIMARY KEY (kind, bucket)']),
      ...table(d, sql, t.statsDims, ['dim VARCHAR(16) NOT NULL', 'id VARCHAR(191) NOT NULL', ...METRICS, 'PRIMARY KEY (dim, id)']),
      ...table(d, sql, t.requestLog, [`id ${sql.serial}`, `data ${sql.text} NOT NULL`]),
      ...table(d, sql, t.statsFlushes, ['id VARCHAR(64) PRIMARY KEY', 'at BIGINT NOT NULL'], [['at', 'at']]),
    ],
  },
  {
    version: 2,
    name: 'admin sessions and login throttle',
    statements: (t, sql, d) => [
      ...table(d, sql, t.adminSessions, ['lookup_id VARCHAR(64) PRIMARY KEY', 'expires_at BIGINT NOT NULL'], [['expiry', 'expires_at']]),
      ...table(d, sql, t.loginThrottle, ['client VARCHAR(191) PRIMARY KEY', 'tries BIGINT NOT NULL', 'next_at BIGINT NOT NULL', 'expires_at BIGINT NOT NULL'], [['expiry', 'expires_at']]),
    ],
  },
  {
    version: 3,
    // The rpm_/rpd_ count and until columns of the fixed windows stay, unused, so an older
    // instance still running during a rolling upgrade does not fail on them.
    name: 'client key limits as sliding-window logs',
    statements: (t, sql) => [`ALTER TABLE ${t.clientKeys} ADD COLUMN rate_log ${sql.bigText} NULL`],
  },
  {
    version: 4,
    // Request costs by the price table, in micro-USD (integers, like the other metrics).
    name: 'request cost in the stats',
    statements: (t) => [t.statsBuckets, t.statsDims].map((table) => `ALTER TABLE ${table} ADD COLUMN cost BIGINT NOT NULL DEFAULT 0`),
  },
  {
    version: 5,
    // The part of the cost priced on estimated token counts (grok.com turns), in micro-USD.
    name: 'estimated part of the request cost in the stats',
    statements: (t) => [t.statsBuckets, t.statsDims].map((table) => `ALTER TABLE ${table} ADD COLUMN cost_estimated BIGINT NOT NULL DEFAULT 0`),
  },
  {
    version: 6,
    // The request log gets the columns its filters read (backfilled from the JSON of the rows
    // already there) and indexes for the time order and the common filters; per-key usage per day.
    name: 'searchable request log, per-key usage per day',
    statements: (t, sql, d) => {
      const log = t.requestLog;
      const json = (field: string) => (d === 'pgsql' ? `(CAST(data AS jsonb)->>'${field}')` : `NULLIF(JSON_UNQUOTE(JSON_EXTRACT(data, '$.${field}')), 'null')`);
      const index = (suffix: string, cols: string) => (d === 'pgsql' ? `CREATE INDEX IF NOT EXISTS ${log}_${suffix} ON ${log} (${cols})` : `CREATE INDEX ${log}_${suffix} ON ${log} (${cols})`);
      return [
        `ALTER TABLE ${log} ADD COLUMN time_ms BIGINT NULL, ADD COLUMN key_id VARCHAR(191) NULL, ADD COLUMN account VARCHAR(191) NULL, ADD COLUMN model VARCHAR(191) NULL, ADD COLUMN status INT NULL, ADD COLUMN route VARCHAR(191) NULL`,
        `UPDATE ${log} SET time_ms = CAST(${json('time')} AS ${d === 'pgsql' ? 'BIGINT' : 'SIGNED'}), key_id = LEFT(${json('keyId')}, 191), account = LEFT(${json('account')}, 191), model = LEFT(${json('model')}, 191), status = CAST(${json('status')} AS ${d === 'pgsql' ? 'INT' : 'SIGNED'}), route = LEFT(${json('route')}, 191)`,
        `UPDATE ${log} SET time_ms = 0 WHERE time_ms IS NULL`,
        index('time', 'time_ms, id'),
        index('key', 'key_id, time_ms'),
        index('account', 'account, time_ms'),
        index('model', 'model, time_ms'),
        ...table(d, sql, t.keyUsage, [
          'day BIGINT NOT NULL',
          'key_id VARCHAR(191) NOT NULL',
          'key_name VARCHAR(191) NULL',
          ...['total', 'success', 'failed', 'prompt_tokens', 'completion_tokens', 'tokens', 'cost', 'cost_estimated'].map((m) => `${m} BIGINT NOT NULL DEFAULT 0`),
          'PRIMARY KEY (day, key_id)',
        ]),
      ];
    },
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;
