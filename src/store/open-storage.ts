/**
 * Opens everything that lives in the configured storage (server.storage_type): the account
 * store, runtime settings, stored responses, video tasks, client keys and statistics.
 * local: files under DATA_DIR, this process only. redis, pgsql, mysql: shared by every instance.
 */
import type { Logger } from 'pino';
import { MemoryQueueBackend, type QueueBackend } from '../pool/queue/backend.js';
import { RedisQueueBackend } from '../pool/queue/redis-backend.js';
import { storeErrors } from '../metrics/registry.js';
import { redisSettingsBackend } from '../config/redis-settings.js';
import type { Config } from '../config/schema.js';
import { fileSettingsBackend, type SettingsBackend } from '../config/settings.js';
import { RedisStats } from '../stats/redis-stats.js';
import { Stats } from '../stats/stats.js';
import type { StatsStore } from '../stats/types.js';
import type { KeyStore } from './keys.js';
import { LocalKeyStore } from './local/local-key-store.js';
import { LocalResponseStore } from './local/local-response-store.js';
import { LocalSessionStore } from './local/local-session-store.js';
import { LocalStore } from './local/local-store.js';
import { RedisKeyStore } from './redis/redis-key-store.js';
import { RedisResponseStore } from './redis/redis-response-store.js';
import { RedisSessionStore } from './redis/redis-session-store.js';
import { RedisStore } from './redis/redis-store.js';
import { RedisTaskStore } from './redis/redis-task-store.js';
import type { ResponseStore } from './responses.js';
import type { SessionStore } from './sessions.js';
import { databaseOptions } from './sql/options.js';
import { SqlKeyStore } from './sql/sql-key-store.js';
import { SqlResponseStore } from './sql/sql-response-store.js';
import { SqlSessionStore } from './sql/sql-session-store.js';
import { sqlSettingsBackend } from './sql/sql-settings.js';
import { SqlStats } from './sql/sql-stats.js';
import { SqlStore } from './sql/sql-store.js';
import { SqlTaskStore } from './sql/sql-task-store.js';
import type { TaskStore } from './tasks.js';
import type { Store } from './types.js';

export interface Storage {
  store: Store;
  settings: SettingsBackend;
  responses: ResponseStore;
  /** The shared task store; undefined with local storage (the media services open the local one). */
  tasks: TaskStore | undefined;
  keys: KeyStore;
  stats: StatsStore;
  /** Admin sessions and the login throttle. */
  sessions: SessionStore;
  /** Requests waiting for a concurrency slot: shared on Redis, per instance otherwise. */
  slotQueue: QueueBackend;
}

export async function openStorage(config: Config, log: Logger): Promise<Storage> {
  const type = config.server.storage_type;
  const logSize = config.log.recent_requests;
  const retention = { retentionDays: config.log.retention_days, usageDays: config.log.usage_days };
  if (type === 'redis') {
    const store = new RedisStore({ url: config.redis.url, prefix: config.redis.prefix, livenessTimeoutMs: config.redis.liveness_timeout_ms, onError: (err, what) => storeError(log, err, `redis: ${what}`) });
    await store.init();
    const tasks = new RedisTaskStore(store);
    await tasks.init();
    const stats = new RedisStats(store.client, store.keys, store.label, { logSize, ...retention, onError: (err) => storeError(log, err, 'redis: flushing stats') });
    await stats.init();
    const sessions = new RedisSessionStore(store.client, store.keys, store.label);
    return { store, settings: redisSettingsBackend(store), responses: new RedisResponseStore(store), tasks, keys: new RedisKeyStore(store.client, store.keys, store.label), stats, sessions, slotQueue: new RedisQueueBackend(store) };
  }
  if (type === 'pgsql' || type === 'mysql') {
    const store = new SqlStore({ ...databaseOptions(config), onError: (err, what) => storeError(log, err, `database: ${what}`) });
    await store.init();
    const stats = new SqlStats(store, { logSize, ...retention, onError: (err) => storeError(log, err, 'database: flushing stats') });
    await stats.init();
    return { store, settings: sqlSettingsBackend(store), responses: new SqlResponseStore(store), tasks: new SqlTaskStore(store), keys: new SqlKeyStore(store), stats, sessions: new SqlSessionStore(store), slotQueue: new MemoryQueueBackend() };
  }
  const dataDir = config.server.data_dir;
  const store = new LocalStore({ dataDir });
  await store.init();
  const responses = new LocalResponseStore({ dataDir });
  await responses.init();
  const keys = new LocalKeyStore({ dataDir, onFlushError: (err) => log.error({ err }, 'writing keys.json failed; retrying') });
  await keys.init();
  const stats = new Stats({ dataDir, logSize, ...retention, onError: (err) => log.warn({ err }, 'writing stats.json failed') });
  await stats.init();
  const sessions = new LocalSessionStore({ dataDir, onFlushError: (err) => log.error({ err }, 'writing sessions.json failed; retrying') });
  await sessions.init();
  return { store, settings: fileSettingsBackend(dataDir), responses, tasks: undefined, keys, stats, sessions, slotQueue: new MemoryQueueBackend() };
}

/** A failed background store operation: logged and counted (grok2api_store_errors_total). */
function storeError(log: Logger, err: unknown, what: string): void {
  storeErrors.inc({ operation: what });
  log.warn({ err: (err as Error).message }, `${what} failed`);
}
