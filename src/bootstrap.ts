import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { Config } from './config/schema.js';
import { ClientKeys } from './http/auth.js';
import { createLogger } from './logger.js';
import { createMediaServices } from './media/services.js';
import { AccountPool } from './pool/pool.js';
import type { Services } from './services.js';
import { Stats } from './stats/stats.js';
import { RedisStats } from './stats/redis-stats.js';
import type { StatsStore } from './stats/types.js';
import type { KeyStore } from './store/keys.js';
import { LocalKeyStore } from './store/local/local-key-store.js';
import { RedisKeyStore } from './store/redis/redis-key-store.js';
import { LocalResponseStore } from './store/local/local-response-store.js';
import { LocalStore } from './store/local/local-store.js';
import { RedisStore } from './store/redis/redis-store.js';
import { RedisResponseStore } from './store/redis/redis-response-store.js';
import { RedisTaskStore } from './store/redis/redis-task-store.js';
import { redisSettingsBackend } from './config/redis-settings.js';
import { fileSettingsBackend, SettingsService } from './config/settings.js';
import { AccountSetup } from './pool/account-setup.js';
import { QuotaSync } from './pool/quota-sync.js';
import type { Store } from './store/types.js';
import { createGrokTransport } from './upstream/grok/transport/index.js';
import { createRestChatUpstream } from './upstream/grok/rest-chat.js';
import { createWsChatUpstream } from './upstream/grok/ws-chat.js';
import type { ChatUpstream } from './upstream/types.js';

export interface Runtime {
  services: Services;
  /** Whether the admin key was generated now (server.ts prints it once). */
  generatedAppKey: boolean;
  /** Closes what createRuntime opened (store flush, upstream connections). */
  close(): Promise<void>;
}

async function resolveAppKey(config: Config, store: Store): Promise<{ key: string; generated: boolean }> {
  if (config.app.app_key) return { key: config.app.app_key, generated: false };
  // Several workers or instances may start at once on one store: one generates, the others read it.
  for (;;) {
    const res = await store.withLock('app-key', 10_000, async () => {
      const stored = await store.getMeta('app_key');
      if (stored) return { key: stored, generated: false };
      const key = `g2a-admin-${randomBytes(18).toString('base64url')}`;
      await store.setMeta('app_key', key);
      return { key, generated: true };
    });
    if (res.ok) return res.value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates every service from a validated config. Used by server.ts and by the integration tests. */
export async function createRuntime(config: Config, opts: { logDestination?: DestinationStream } = {}): Promise<Runtime> {
  const log = createLogger(config.log.level, opts.logDestination);
  // redis: every instance (SERVER_WORKERS, separate servers) shares one pool; local: this process only.
  const store: Store =
    config.server.storage_type === 'redis'
      ? new RedisStore({ url: config.redis.url, prefix: config.redis.prefix, onError: (err, what) => log.warn({ err: (err as Error).message }, `redis: ${what} failed`) })
      : new LocalStore({ dataDir: config.server.data_dir });
  await store.init();
  const settings = new SettingsService(config, store instanceof RedisStore ? redisSettingsBackend(store) : fileSettingsBackend(config.server.data_dir), (err) =>
    log.error({ err: (err as Error).message }, 'applying changed settings failed'),
  );
  settings.onChange((c) => (log.level = c.log.level));
  await settings.init();
  const responses = store instanceof RedisStore ? new RedisResponseStore(store) : new LocalResponseStore({ dataDir: config.server.data_dir });
  if (responses instanceof LocalResponseStore) await responses.init();
  // Video tasks are shared through Redis too; with local storage the media services open the local one.
  const sharedTasks = store instanceof RedisStore ? new RedisTaskStore(store) : undefined;
  await sharedTasks?.init();
  // Client keys live where the accounts live: shared through Redis, or in DATA_DIR/keys.json.
  const keys: KeyStore =
    store instanceof RedisStore
      ? new RedisKeyStore(store.client, store.keys, store.label)
      : new LocalKeyStore({ dataDir: config.server.data_dir, onFlushError: (err) => log.error({ err }, 'writing keys.json failed; retrying') });
  await keys.init();
  // Usage figures and the request log: shared through Redis (buffered, flushed every second), or per process.
  const stats: StatsStore =
    store instanceof RedisStore
      ? new RedisStats(store.client, store.keys, store.label, { logSize: config.log.recent_requests, onError: (err) => log.warn({ err: (err as Error).message }, 'redis: flushing stats failed') })
      : new Stats({ dataDir: config.server.data_dir, logSize: config.log.recent_requests, onError: (err) => log.warn({ err }, 'writing stats.json failed') });
  await stats.init();
  settings.onChange((c) => stats.resize(c.log.recent_requests));
  // app.api_key is a runtime setting: a change (on any instance) replaces the config keys at once.
  const clientKeys = new ClientKeys(settings.get().app.api_key, keys);
  settings.onChange((c) => clientKeys.set(c.app.api_key));
  const { key, generated } = await resolveAppKey(config, store);
  const getConfig = () => settings.get();
  const grok = await createGrokTransport(getConfig, (message) => log.warn(message));
  const pool = new AccountPool(store, getConfig, log);
  const { media, tasks } = await createMediaServices({ config: getConfig, pool, grok, log, tasks: sharedTasks });
  const services: Services = {
    config: getConfig,
    store,
    responses,
    pool,
    media,
    tasks,
    chat: selectChatTransport(getConfig, createWsChatUpstream(getConfig, grok), createRestChatUpstream(getConfig, grok)),
    log,
    appKey: key,
    clientKeys,
    keys,
    stats,
    settings,
    quotaSync: new QuotaSync(store, grok, getConfig, log),
    accountSetup: new AccountSetup(store, grok, getConfig, log),
  };
  services.quotaSync.start();
  return {
    services,
    generatedAppKey: generated,
    async close() {
      services.quotaSync.stop();
      await media.close();
      // Before the store: the Redis stats' last flush needs the store's connection.
      await stats.close();
      await store.close();
      await responses.close();
      await keys.close();
      await grok.close();
    },
  };
}

/**
 * grok.chat_transport, read per turn so a change in the settings applies to the next request:
 * the mgw WebSocket gateway (today's grok.com) or the older REST endpoint.
 */
function selectChatTransport(config: () => Config, ws: ChatUpstream, rest: ChatUpstream): ChatUpstream {
  return { openChat: (intent, ctx) => (config().grok.chat_transport === 'ws' ? ws : rest).openChat(intent, ctx) };
}
