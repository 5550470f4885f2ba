import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Config } from '../config/schema.js';
import { classifyNetwork } from '../upstream/grok/classify.js';
import { GrokClient } from '../upstream/grok/client.js';
import { buildCookie, identityHeaders } from '../upstream/grok/headers.js';
import { isChallenge } from '../upstream/grok/transport/cloudflare.js';
import type { EgressStatus, GrokTransport } from '../upstream/grok/transport/index.js';
import { ACCEPT_ENCODING, readBounded } from '../upstream/http-client.js';
import { cloudflareAdvice, connectAdvice } from './advice.js';
import type { LayerResult } from './report.js';
import { layer, timed } from './layer.js';

/**
 * The layers below the account: can this machine resolve and reach grok.com through the
 * account's egress, with which TLS identity, and does Cloudflare let it through. The reach and
 * Cloudflare checks share one request: a browser's first navigation to the base URL.
 */

/** What the first request to grok.com showed; `response` is absent when it never got an answer. */
export interface Probe {
  result: LayerResult;
  response?: { status: number; headers: Record<string, string | string[]>; body: string };
  /** The egress the request went out through (from the transport), when known. */
  egress: EgressStatus | undefined;
  /** When the request was sent (epoch ms): egress errors from before are not this request's. */
  startedAt: number;
}

/** Host name of a URL without IPv6 brackets. */
export function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/** Proxies that resolve host names themselves (HTTP CONNECT, socks5h); `socks5://` resolves here. */
const REMOTE_DNS = /^(https?|socks5h):/i;

export async function checkDns(config: Config, transport: GrokTransport): Promise<LayerResult> {
  return timed('dns', async () => {
    const host = hostOf(config.grok.base_url);
    const egresses = transport.egressStatus();
    const proxyHosts = [...new Set(egresses.filter((e) => e.url !== 'direct').map((e) => hostOf(e.url)).filter((h) => !isIP(h)))];
    const [grok, ...proxies] = await Promise.all([host, ...proxyHosts].map((h) => resolve(h, config.timeout.connect_sec * 1000)));
    const badProxies = proxies.filter((p) => p.error).map((p) => `${p.host} (${p.error})`);
    const proxyNote = badProxies.length ? ` Egress proxy host${badProxies.length > 1 ? 's' : ''} not resolving: ${badProxies.join(', ')}.` : '';
    if (isIP(host)) {
      if (badProxies.length) return layer('dns', 'warn', `${host} is an IP address, nothing to resolve.${proxyNote}`, 'Fix the host name of that egress proxy in grok.egress_proxies / PROXY_URL, or remove it.');
      return layer('dns', 'skip', `${host} is an IP address: nothing to resolve.`);
    }
    if (grok!.error) {
      const remote = egresses.length > 0 && egresses.every((e) => e.url !== 'direct' && REMOTE_DNS.test(e.url));
      const seen = `${host} does not resolve on this machine (${grok!.error}).${proxyNote}`;
      if (remote) return layer('dns', 'warn', `${seen} Every egress proxy resolves names itself, so this only matters if the next layer fails.`, 'Nothing to do if TCP + TLS passes; otherwise check the host name in grok.base_url.');
      return layer('dns', 'fail', seen, 'Check grok.base_url (GROK_BASE_URL) for a typo and the DNS of this machine (/etc/resolv.conf), or route through an egress proxy that resolves names (PROXY_URL).');
    }
    const seen = `${host} → ${grok!.addresses.slice(0, 4).join(', ')}${grok!.addresses.length > 4 ? ', …' : ''}.${proxyNote}`;
    if (badProxies.length) return layer('dns', 'warn', seen, 'Fix the host name of that egress proxy in grok.egress_proxies / PROXY_URL, or remove it.');
    return layer('dns', 'ok', seen);
  });
}

async function resolve(host: string, timeoutMs: number): Promise<{ host: string; addresses: string[]; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { code: 'ETIMEOUT' })), timeoutMs);
  });
  try {
    const found = await Promise.race([lookup(host, { all: true }), timeout]);
    return { host, addresses: found.map((a) => a.address) };
  } catch (e) {
    return { host, addresses: [], error: (e as { code?: string }).code ?? (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Chrome's headers for typing the address into the bar (a top-level navigation). */
function navigationHeaders(config: Config, token: string): Record<string, string> {
  return {
    ...identityHeaders(config.grok, token),
    'Upgrade-Insecure-Requests': '1',
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
    'Sec-Fetch-Site': 'none',
    'Sec-Fetch-Mode': 'navigate',
    'Sec-Fetch-User': '?1',
    'Sec-Fetch-Dest': 'document',
    'Accept-Encoding': ACCEPT_ENCODING,
    'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8',
    Cookie: buildCookie(token, config.grok.cf_clearance),
    Priority: 'u=0, i',
  };
}

/**
 * TCP + TLS: one navigation to the base URL through the production transport. Any HTTP answer
 * means the connection and the handshake worked; what the answer says is the Cloudflare layer's.
 */
export async function probe(config: Config, transport: GrokTransport, token: string): Promise<Probe> {
  const client = new GrokClient(config, transport);
  const base = client.baseUrl;
  const host = new URL(base).host;
  const startedAt = Date.now();
  const connectMs = config.timeout.connect_sec * 1000;
  const firstByteMs = config.timeout.first_byte_sec * 1000;
  let response: Probe['response'];
  let egress: EgressStatus | undefined;
  const result = await timed('tcp_tls', async () => {
    try {
      const res = await client.request(`${base}/`, {
        method: 'GET',
        headers: navigationHeaders(config, token),
        account: token,
        headersTimeout: connectMs + firstByteMs,
        bodyTimeout: firstByteMs,
      });
      const body = await readBounded(res.body).catch(() => '');
      res.body.destroy();
      response = { status: res.statusCode, headers: res.headers, body };
      egress = egressOfResponse(transport, res.headers);
    } catch (e) {
      const failed = transport.egressStatus().filter((s) => s.lastErrorAt && Date.parse(s.lastErrorAt) >= startedAt - 1);
      egress = failed[0] ?? soleEgress(transport);
      const err = classifyNetwork(e);
      // Several failed egresses: the relay failed over from one to the next; name each.
      const dialError = failed.length > 1 ? failed.map((f) => `${f.url}: ${f.lastError}`).join('; ') : (failed[0]?.lastError ?? null);
      const seen = `No answer from ${host}${egress ? ` through ${egress.url}` : ''}: ${dialError ?? (e as Error).message}.`;
      return layer('tcp_tls', 'fail', seen, connectAdvice(err, host, { config, egress: egress?.url ?? null, dialError }), err.code);
    }
    const tls = base.startsWith('https:') ? 'TLS handshake done' : 'plain HTTP, so no TLS: base_url is http://';
    const seen = `HTTP ${response!.status} from ${host} through ${egress?.url ?? 'the configured egress'}; ${tls}.`;
    if (transport.name === 'undici') {
      return layer('tcp_tls', 'warn', seen, 'This is Node\'s own TLS handshake, which Cloudflare can tell from Chrome\'s: set grok.http_client = "wreq" unless this platform cannot load it.');
    }
    return layer('tcp_tls', 'ok', seen);
  });
  return { result, response, egress, startedAt };
}

/** Cloudflare: was the navigation answered, or challenged? */
export function checkCloudflare(config: Config, p: Probe): LayerResult {
  const r = p.response!;
  const mitigated = String(r.headers['cf-mitigated'] ?? '') || null;
  const ray = r.headers['cf-ray'] ? String(r.headers['cf-ray']) : null;
  const type = String(r.headers['content-type'] ?? '').split(';')[0] || 'no content type';
  const cf = p.egress?.cloudflare;
  const held = cf?.cookies.length ? ` Cloudflare cookies held for this egress: ${cf.cookies.join(', ')}${cf.userAgent ? ` (issued to "${cf.userAgent}")` : ''}.` : '';
  const solvedNow = cf?.solvedAt && Date.parse(cf.solvedAt) >= p.startedAt ? ' FlareSolverr cleared a challenge for this request.' : '';
  // The transport records a solver's failure on the egress (FLARESOLVERR_URL set, challenge still there).
  const e = p.egress;
  const solverFailed = e?.lastError && e.lastErrorAt && Date.parse(e.lastErrorAt) >= p.startedAt && /challenge not solved/.test(e.lastError) ? ` ${e.lastError}.` : '';
  const challenged = isChallenge(r.status, r.headers, r.body);
  if (challenged) {
    const why = `HTTP ${r.status} ${type}${mitigated ? `, cf-mitigated: ${mitigated}` : ''}${ray ? `, cf-ray ${ray}` : ''}`;
    return layer('cloudflare', 'fail', `Challenged: ${why}.${solverFailed}${held}`, cloudflareAdvice({ config, egress: p.egress?.url ?? null, dialError: null }), 'upstream_anti_bot');
  }
  const front = ray || String(r.headers.server ?? '').toLowerCase() === 'cloudflare' ? `passed Cloudflare${ray ? ` (cf-ray ${ray})` : ''}` : 'no Cloudflare in front (no cf-ray header)';
  const seen = `No challenge: HTTP ${r.status} ${type}, ${front}.${solvedNow}${held}`;
  if (config.grok.cf_clearance.trim() && !config.grok.user_agent.trim() && !cf?.userAgent) {
    return layer('cloudflare', 'warn', `${seen} grok.cf_clearance is set without grok.user_agent.`, 'A cf_clearance only counts with the User-Agent it was issued to: set grok.user_agent to that browser\'s, or clear grok.cf_clearance.');
  }
  return layer('cloudflare', 'ok', seen);
}

function soleEgress(transport: GrokTransport): EgressStatus | undefined {
  const all = transport.egressStatus();
  return all.length === 1 ? all[0] : undefined;
}

/** The wreq transport names the egress of each response (`x-grok2api-egress`, masked). */
function egressOfResponse(transport: GrokTransport, headers: Record<string, string | string[]>): EgressStatus | undefined {
  const masked = headers['x-grok2api-egress'];
  if (masked) return transport.egressStatus().find((e) => e.url === String(masked));
  return soleEgress(transport);
}
