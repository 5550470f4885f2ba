import { existsSync } from 'node:fs';
import type { Config } from '../../../config/schema.js';
import { checkIdentityConfig } from './chrome-identity.js';
import { EgressPool } from './egress-pool.js';
import type { GrokTransport } from './types.js';
import { UndiciTransport } from './undici-transport.js';
import { WreqTransport } from './wreq-transport.js';

export type { GrokRequest, GrokResponse, GrokSocket, GrokSocketHandlers, GrokSocketOptions, GrokTransport, EgressStatus } from './types.js';

/** Every egress URL in the configuration: `grok.proxy_url` first, then `grok.egress_proxies`. */
export function egressUrls(config: Config): string[] {
  return [config.grok.proxy_url, ...config.grok.egress_proxies].map((u) => u.trim()).filter(Boolean);
}

/**
 * Builds the grok.com transport `grok.http_client` names. Throws at start-up, with a message that
 * says what to change, for a bad profile, OS, proxy URL or CA file; returns the warning for a
 * User-Agent that does not match any profile (logged by the caller).
 */
export async function createGrokTransport(config: () => Config, warn: (message: string) => void = () => {}): Promise<GrokTransport> {
  const c = config();
  const caFile = c.grok.ca_file.trim();
  if (caFile && !existsSync(caFile)) throw new Error(`grok.ca_file '${caFile}' does not exist`);
  const pool = new EgressPool(() => egressUrls(config()));
  if (c.grok.http_client === 'undici') return new UndiciTransport(config, pool);
  const warning = checkIdentityConfig(c.grok);
  if (warning) warn(warning);
  // BoringSSL inside wreq reads extra trust anchors from SSL_CERT_FILE (on top of its bundled
  // Mozilla roots), when each connection's TLS context is built.
  if (caFile) process.env.SSL_CERT_FILE = caFile;
  const t = new WreqTransport(config, pool);
  await t.start();
  return t;
}
