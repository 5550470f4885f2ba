import { join } from 'node:path';
import { redisSettingsBackend } from '../config/redis-settings.js';
import type { Config } from '../config/schema.js';
import { SettingsService } from '../config/settings.js';
import { loadState, STATE_FILE_NAME } from '../store/local/state-file.js';
import { RedisStore } from '../store/redis/redis-store.js';
import { databaseOptions } from '../store/sql/options.js';
import { sqlSettingsBackend } from '../store/sql/sql-settings.js';
import { SqlStore } from '../store/sql/sql-store.js';
import type { SettingsBackend } from '../config/settings.js';
import type { Account, Store } from '../store/types.js';

/**
 * Where the CLI doctor finds its account and its settings when no token is given: the configured
 * store, read without changing anything, so it can run next to a live server on the same
 * DATA_DIR, Redis or database. Local storage is read straight from DATA_DIR/store.json (opening
 * the store would tidy its files, which is the running server's business); a database store
 * applies its migrations on open, as the server does, which is a no-op on a current schema.
 */

export interface StoreView {
  /** The effective configuration: start-up config plus the runtime settings stored with the accounts. */
  config: Config;
  accounts: Account[];
}

export async function readStore(config: Config): Promise<StoreView> {
  const type = config.server.storage_type;
  if (type === 'local') {
    const state = await loadState(join(config.server.data_dir, STATE_FILE_NAME));
    // Local runtime settings live in DATA_DIR/config.toml, which loadConfig already read.
    return { config, accounts: state?.accounts ?? [] };
  }
  const { store, settings } = openShared(config);
  await store.init();
  try {
    // Runtime settings changed in the admin console (egress proxies, clearance, user agent) apply here too.
    const service = new SettingsService(config, { ...settings, watch: async () => {} });
    await service.init();
    return { config: service.get(), accounts: await store.listAccounts() };
  } finally {
    await store.close();
  }
}

function openShared(config: Config): { store: Store; settings: SettingsBackend } {
  if (config.server.storage_type === 'redis') {
    const store = new RedisStore({ url: config.redis.url, prefix: config.redis.prefix });
    return { store, settings: redisSettingsBackend(store) };
  }
  const store = new SqlStore(databaseOptions(config));
  return { store, settings: sqlSettingsBackend(store) };
}

/** The account with that id, else the first active one (the pool's order of import). */
export function pickAccount(accounts: Account[], id?: string): Account | undefined {
  if (id) return accounts.find((a) => a.id === id);
  return accounts.find((a) => a.status === 'active') ?? accounts.find((a) => a.status === 'cooling');
}
