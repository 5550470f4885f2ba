import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import type { ClientKeys } from './http/auth.js';
import type { AccountPool } from './pool/pool.js';
import type { Store } from './store/types.js';
import type { ChatUpstream } from './upstream/types.js';

/** Everything the HTTP app needs, created by server.ts (or by a test) and passed to buildApp. */
export interface Services {
  /** The current configuration; read per request, since runtime settings may change. */
  config: () => Config;
  store: Store;
  pool: AccountPool;
  chat: ChatUpstream;
  log: Logger;
  /** The admin password (from config, or generated and stored on first start). */
  appKey: string;
  /** Client API keys from config/env (store-managed keys add to these later). */
  clientKeys: ClientKeys;
}
