import { randomBytes } from 'node:crypto';
import { AlertManager } from './alerts/alerts.js';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config/schema.js';
import { AdminSessions } from './http/admin-sessions.js';
import { ClientKeys } from './http/auth.js';
import { createLogger } from './logger.js';
import { unknownFrames } from './upstream/grok/unknown-frames.js';
import { createMediaServices } from './media/services.js';
import { AccountPool } from './pool/pool.js';
import { SlotQueue } from './pool/queue/slot-queue.js';
import type { Services } from './services.js';
import { SettingsService } from './config/settings.js';
import { retentionOf } from './stats/log-query.js';
import { openStorage } from './store/open-storage.js';
import { AccountSetup } from './pool/account-setup.js';
import { QuotaSync } from './pool/quota-sync.js';
import type { Store } from './store/types.js';
import { createGrokTransport } from './upstream/grok/transport/index.js';
import { createGrokProvider } from './upstream/grok/provider.js';
import { ProviderRegistry } from './upstream/registry.js';
import { createXaiProvider } from './upstream/xai/index.js';

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
  // Frames grok.com sends that this server does not know are logged here, once per kind.
  unknownFrames.useLogger(log);
  // local: files under DATA_DIR, this process only; redis, pgsql, mysql: shared by every instance.
  const { store, settings: settingsBackend, responses, tasks: sharedTasks, keys, stats, sessions, slotQueue: queueBackend } = await openStorage(config, log);
  const settings = new SettingsService(config, settingsBackend, (err) => log.error({ err: (err as Error).message }, 'applying changed settings failed'));
  settings.onChange((c) => (log.level = c.log.level));
  await settings.init();
  settings.onChange((c) => stats.setRetention(retentionOf(c)));
  // app.api_key is a runtime setting: a change (on any instance) replaces the config keys at once.
  const clientKeys = new ClientKeys(settings.get().app.api_key, keys, () => settings.get());
  settings.onChange((c) => clientKeys.set(c.app.api_key));
  const { key, generated } = await resolveAppKey(config, store);
  const getConfig = () => settings.get();
  const grok = await createGrokTransport(getConfig, (message) => log.warn(message));
  const slotQueue = new SlotQueue(queueBackend, log);
  await slotQueue.init();
  const pool = new AccountPool(store, getConfig, log, slotQueue);
  // One line per upstream (docs/architecture.md): the lease's provider picks among them.
  const providers = new ProviderRegistry().add(createGrokProvider(getConfig, grok)).add(createXaiProvider(getConfig));
  const grokAccounts = providers.account('grok')!;
  pool.antiBot = {
    matches: (provider, err) => providers.account(provider)?.isAntiBot(err) ?? false,
    refresh: async (provider, token) => providers.account(provider)?.refreshIdentity(token),
  };
  // Webhook alerts (alerts.webhook_url): told by the pool, checking the pool on a timer, never on a request's path.
  const alerts = new AlertManager(store, getConfig, log);
  pool.alerts = alerts;
  await importConfiguredXaiKeys(config, store, log);
  const { media, tasks } = await createMediaServices({ config: getConfig, pool, providers, log, tasks: sharedTasks });
  const services: Services = {
    config: getConfig,
    store,
    responses,
    pool,
    media,
    grokTransport: grok,
    tasks,
    chat: providers.chat(),
    providers,
    log,
    appKey: key,
    sessions: new AdminSessions(sessions, () => key),
    clientKeys,
    keys,
    stats,
    settings,
    quotaSync: new QuotaSync(store, grokAccounts, getConfig, log),
    accountSetup: new AccountSetup(store, grokAccounts, getConfig, log),
    alerts,
  };
  services.quotaSync.start();
  alerts.start();
  return {
    services,
    generatedAppKey: generated,
    async close() {
      services.quotaSync.stop();
      await alerts.close();
      slotQueue.close();
      await media.close();
      // Before the store: the Redis stats' last flush needs the store's connection.
      await stats.close();
      await store.close();
      await responses.close();
      await keys.close();
      await sessions.close();
      await providers.close();
      await grok.close();
    },
  };
}

/**
 * `xai.api_keys` (env XAI_API_KEYS) into the pool as credentials of kind xai. Import skips keys
 * already present, so every start (and every instance) may run it.
 */
async function importConfiguredXaiKeys(config: Config, store: Store, log: Logger): Promise<void> {
  const keys = config.xai.api_keys;
  if (!keys.length) return;
  const { added } = await store.importAccounts(keys.map((token) => ({ token, kind: 'xai' as const })));
  if (added.length) log.info({ added: added.length }, 'xAI API keys imported from the configuration');
}
