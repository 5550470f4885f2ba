import type { Config } from '../config/schema.js';
import { maskToken } from '../routes/admin/tokens.js';
import { identityHeaders } from '../upstream/grok/headers.js';
import { browserIdentity, identityOf, newestChromeProfile, profileForUserAgent } from '../upstream/grok/transport/chrome-identity.js';
import type { EgressStatus, GrokTransport } from '../upstream/grok/transport/index.js';
import { checkRateLimits, checkSession, type AccountContext } from './account-checks.js';
import { skipped } from './layer.js';
import { checkCloudflare, checkDns, probe } from './network-checks.js';
import { summaryOf, verdictOf, type ClientSummary, type DoctorReport, type LayerId, type LayerResult } from './report.js';
import { checkImagineHandshake, checkRestChat, checkWsChat } from './turn-checks.js';

export interface DoctorOptions {
  /** The effective configuration (runtime settings included). */
  config: Config;
  /** The production grok.com transport: the doctor checks the very path requests take. */
  transport: GrokTransport;
  /** The account's sso token. */
  token: string;
  /** The account's id in the store, when it came from there. */
  accountId?: string | null;
}

const ORDER: LayerId[] = ['dns', 'tcp_tls', 'cloudflare', 'session', 'rate_limits', 'chat_rest', 'chat_ws', 'imagine_ws'];

/**
 * Checks one account end to end, from the network up. A layer that fails in a way every layer
 * above it must share (no DNS, no connection, a Cloudflare challenge, a dead credential) stops the
 * run, and the layers above are reported as not tried; otherwise every layer runs, since e.g. the
 * REST turn (which carries x-statsig-id) and the WebSocket turn (which does not) can disagree.
 * Read-only towards the pool: nothing is leased, reported or marked on the account.
 */
export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const started = Date.now();
  const { config, transport, token } = o;
  const layers: LayerResult[] = [];
  let client = clientSummary(config, transport, token, undefined);
  // Known before any request only when there is a single egress; the first answer names it otherwise.
  const all = transport.egressStatus();
  let egress: string | null = all.length === 1 ? all[0]!.url : null;
  const finish = (stopReason?: string): DoctorReport => {
    if (stopReason) for (const id of ORDER.slice(layers.length)) layers.push(skipped(id, stopReason));
    return {
      verdict: verdictOf(layers),
      summary: summaryOf(layers),
      account: { id: o.accountId ?? null, token: maskToken(token) },
      base_url: config.grok.base_url,
      egress,
      client,
      layers,
      started_at: new Date(started).toISOString(),
      duration_ms: Date.now() - started,
    };
  };

  const dns = await checkDns(config, transport);
  layers.push(dns);
  if (dns.status === 'fail') return finish('the host name does not resolve');

  const reach = await probe(config, transport, token);
  egress = reach.egress?.url ?? egress;
  client = clientSummary(config, transport, token, reach.egress);
  layers.push(reach.result);
  if (reach.result.status === 'fail') return finish('no connection to grok.com');
  reach.result.seen = `${reach.result.seen.replace(/\.$/, '')}; ${describeClient(client)}.`;

  const cloudflare = checkCloudflare(config, reach);
  layers.push(cloudflare);
  if (cloudflare.status === 'fail') return finish('Cloudflare challenged the egress');

  const ctx: AccountContext = { config, transport, token, egress };
  for (const check of [checkSession, checkRateLimits, checkRestChat, checkWsChat, checkImagineHandshake]) {
    const result = await check(ctx);
    layers.push(result);
    const stop = sharedFailure(result);
    if (stop) return finish(stop);
  }
  return finish();
}

/** A failure every later layer would repeat: a dead credential, or a Cloudflare challenge. */
function sharedFailure(l: LayerResult): string | undefined {
  if (l.code === 'upstream_auth_failed') return "grok.com does not accept the account's token";
  if (l.code === 'upstream_anti_bot' && /cloudflare/i.test(l.seen)) return 'Cloudflare challenged the egress';
  return undefined;
}

/** The identity the transport presents for this account (a solver's User-Agent wins on its egress). */
function clientSummary(config: Config, transport: GrokTransport, token: string, egress: EgressStatus | undefined): ClientSummary {
  if (transport.name === 'undici') {
    return { transport: 'undici', profile: null, os: null, user_agent: identityHeaders(config.grok, token)['User-Agent']!, alpn: ['http/1.1'], websocket_alpn: [] };
  }
  const solverUa = egress?.cloudflare.userAgent;
  const id = solverUa ? identityOf(profileForUserAgent(solverUa) ?? newestChromeProfile(), osOf(solverUa), solverUa) : browserIdentity(config.grok, token);
  // wreq's Chrome profiles offer what Chrome offers: h2 first for requests, http/1.1 only on WebSocket upgrades.
  return { transport: 'wreq', profile: id.profile, os: id.os, user_agent: id.userAgent, alpn: ['h2', 'http/1.1'], websocket_alpn: ['http/1.1'] };
}

function describeClient(c: ClientSummary): string {
  const who = c.profile ? `client wreq-js impersonating ${c.profile} on ${c.os}` : "client undici (Node's own TLS, no browser impersonation)";
  return `${who}, User-Agent "${c.user_agent}", ALPN offered ${c.alpn.join(', ')} (WebSocket: ${c.websocket_alpn.join(', ') || 'none'})`;
}

function osOf(ua: string): string {
  return /Windows/.test(ua) ? 'windows' : /Mac OS X|Macintosh/.test(ua) ? 'macos' : 'linux';
}
