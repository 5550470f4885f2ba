import type { Logger } from 'pino';
import type { AlertManager } from './alerts/alerts.js';
import type { Config } from './config/schema.js';
import type { AdminSessions } from './http/admin-sessions.js';
import type { ClientKeys } from './http/auth.js';
import type { MediaServices } from './media/services.js';
import type { SettingsService } from './config/settings.js';
import type { AccountSetup } from './pool/account-setup.js';
import type { AccountPool } from './pool/pool.js';
import type { QuotaSync } from './pool/quota-sync.js';
import type { KeyStore } from './store/keys.js';
import type { ResponseStore } from './store/responses.js';
import type { StatsStore } from './stats/types.js';
import type { TaskStore } from './store/tasks.js';
import type { Store } from './store/types.js';
import type { GrokTransport } from './upstream/grok/transport/index.js';
import type { ProviderRegistry } from './upstream/registry.js';
import type { ChatUpstream } from './upstream/types.js';

/** Everything the HTTP app needs, created by server.ts (or by a test) and passed to buildApp. */
export interface Services {
  /** The current configuration; read per request, since runtime settings may change. */
  config: () => Config;
  store: Store;
  /** Stored `/v1/responses` results (GET and `previous_response_id`). */
  responses: ResponseStore;
  pool: AccountPool;
  /** Chat on the leased credential's provider (the registry's dispatcher). */
  chat: ChatUpstream;
  /** Every upstream by name (registry.ts): chat, images, model lists. */
  providers: ProviderRegistry;
  /** Media cache and the video task runner. */
  media: MediaServices;
  /** grok.com's transport, for its own diagnostics only (the doctor, the egress view); requests go through `providers`. */
  grokTransport: GrokTransport;
  /** Video tasks (docs/api-contract.md §6), shared by every instance through the store. */
  tasks: TaskStore;
  log: Logger;
  /** The admin password (from config, or generated and stored on first start). */
  appKey: string;
  /** Admin console sessions and the login throttle, in the store (shared by every instance). */
  sessions: AdminSessions;
  /** Client API keys from config/env (store-managed keys add to these later). */
  clientKeys: ClientKeys;
  /** Client keys managed in the admin console (limits, expiry, model allowlist). */
  keys: KeyStore;
  /** Usage figures and the recent-request log (admin console). */
  stats: StatsStore;
  /** Runtime settings: the source of `config()`, editable through the admin API. */
  settings: SettingsService;
  /** Quota windows and tiers from grok.com (import, schedule, admin refresh). */
  quotaSync: QuotaSync;
  /** NSFW enablement and other account setup calls. */
  accountSetup: AccountSetup;
  /** Webhook alerts (alerts.webhook_url): pool exhausted, accounts invalid, thresholds. */
  alerts: AlertManager;
}
