import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import type { Config } from './config/schema.js';
import { ClientKeys } from './http/auth.js';
import { createLogger } from './logger.js';
import { AccountPool } from './pool/pool.js';
import type { Services } from './services.js';
import { LocalStore } from './store/local/local-store.js';
import type { Store } from './store/types.js';
import { createDispatcher } from './upstream/http-client.js';
import { createRestChatUpstream } from './upstream/grok/rest-chat.js';

export interface Runtime {
  services: Services;
  /** Whether the admin key was generated now (server.ts prints it once). */
  generatedAppKey: boolean;
  /** Closes what createRuntime opened (store flush, upstream connections). */
  close(): Promise<void>;
}

async function resolveAppKey(config: Config, store: Store): Promise<{ key: string; generated: boolean }> {
  if (config.app.app_key) return { key: config.app.app_key, generated: false };
  const stored = await store.getMeta('app_key');
  if (stored) return { key: stored, generated: false };
  const key = `g2a-admin-${randomBytes(18).toString('base64url')}`;
  await store.setMeta('app_key', key);
  return { key, generated: true };
}

/** Creates every service from a validated config. Used by server.ts and by the integration tests. */
export async function createRuntime(config: Config, opts: { logDestination?: DestinationStream } = {}): Promise<Runtime> {
  if (config.server.storage_type !== 'local') {
    // The Redis store (several instances on one pool) is not part of this release yet.
    throw new Error('server.storage_type = "redis" is not available in this version; use "local"');
  }
  const log = createLogger(config.log.level, opts.logDestination);
  const store = new LocalStore({ dataDir: config.server.data_dir });
  await store.init();
  const { key, generated } = await resolveAppKey(config, store);
  const dispatcher = createDispatcher(config);
  const getConfig = () => config;
  const services: Services = {
    config: getConfig,
    store,
    pool: new AccountPool(store, getConfig, log),
    chat: createRestChatUpstream(config, dispatcher),
    log,
    appKey: key,
    clientKeys: new ClientKeys(config.app.api_key),
  };
  return {
    services,
    generatedAppKey: generated,
    async close() {
      await store.close();
      await dispatcher.close();
    },
  };
}
