import { request } from 'undici';
import type { Egress } from './egress-pool.js';

/**
 * Cloudflare state per egress (docs/upstream-identity.md §4): the cookies Cloudflare sets
 * (`cf_clearance`, `__cf_bm`, `_cfuvid`) are bound to the IP and User-Agent they were issued to,
 * so they are kept per egress, sent back on every request through it, and — when a solver issued
 * them — with the solver's User-Agent.
 */
export const CF_COOKIES = new Set(['cf_clearance', '__cf_bm', '_cfuvid']);

/** Keeps the Cloudflare cookies of a response's Set-Cookie headers (an expired one is dropped). */
export function keepCloudflareCookies(egress: Egress, setCookie: string[]): void {
  for (const line of setCookie) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    if (eq < 0) continue;
    const name = pair!.slice(0, eq).trim();
    if (!CF_COOKIES.has(name)) continue;
    const value = pair!.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a)) || !value;
    if (expired) egress.cf.delete(name);
    else egress.cf.set(name, value);
  }
}

/** The Cookie header with the egress's Cloudflare cookies in place of any configured ones. */
export function withCloudflareCookies(cookie: string | undefined, egress: Egress): string | undefined {
  if (!egress.cf.size) return cookie;
  const kept = (cookie ?? '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p && !egress.cf.has(p.slice(0, p.indexOf('=')).trim()));
  for (const [k, v] of egress.cf) kept.push(`${k}=${v}`);
  return kept.join('; ');
}

/** Texts of Cloudflare's challenge and block pages (a body without the headers still shows it). */
export const CLOUDFLARE_MARKERS = ['just a moment', 'cf-chl', 'challenge-platform', 'cf_chl', 'attention required! | cloudflare'];

/**
 * A Cloudflare challenge rather than an answer from grok.com (docs/upstream-identity.md §4):
 * `cf-mitigated: challenge`, or a 403/503 HTML page (by its content type or, when a bounded prefix
 * of the body is given, by its text). The one rule for the transport, the classifier and the doctor.
 */
export function isChallenge(status: number, headers: Record<string, string | string[] | undefined>, body = ''): boolean {
  if (String(headers['cf-mitigated'] ?? '').toLowerCase() === 'challenge') return true;
  if (status !== 403 && status !== 503) return false;
  if (String(headers['content-type'] ?? '').toLowerCase().startsWith('text/html')) return true;
  const lower = body.toLowerCase();
  return CLOUDFLARE_MARKERS.some((m) => lower.includes(m)) || (status === 403 && lower.includes('<html'));
}

export interface Solution {
  cookies: Map<string, string>;
  userAgent: string;
}

/**
 * Asks a FlareSolverr instance (`POST {url}/v1`, `cmd: request.get`) to pass the challenge of
 * `pageUrl` through the same egress proxy, so the clearance is issued for that egress's IP.
 * FlareSolverr is a local service, not grok.com, so Node's own client is right here.
 */
export async function solveChallenge(flaresolverrUrl: string, pageUrl: string, proxy: URL | null, timeoutMs: number): Promise<Solution> {
  const body: Record<string, unknown> = { cmd: 'request.get', url: pageUrl, maxTimeout: timeoutMs };
  if (proxy) {
    const p: Record<string, string> = { url: `${proxy.protocol}//${proxy.host}` };
    if (proxy.username) p.username = decodeURIComponent(proxy.username);
    if (proxy.password) p.password = decodeURIComponent(proxy.password);
    body.proxy = p;
  }
  const res = await request(`${flaresolverrUrl.replace(/\/+$/, '')}/v1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs + 10_000,
    bodyTimeout: timeoutMs + 10_000,
  });
  const text = await res.body.text();
  let j: { status?: string; message?: string; solution?: { cookies?: { name: string; value: string }[]; userAgent?: string } };
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`FlareSolverr answered HTTP ${res.statusCode} without JSON`);
  }
  if (j.status !== 'ok' || !j.solution) throw new Error(`FlareSolverr could not solve the challenge: ${j.message ?? j.status ?? res.statusCode}`);
  const cookies = new Map<string, string>();
  for (const c of j.solution.cookies ?? []) if (CF_COOKIES.has(c.name)) cookies.set(c.name, c.value);
  if (!cookies.has('cf_clearance')) throw new Error('FlareSolverr returned no cf_clearance cookie');
  return { cookies, userAgent: j.solution.userAgent ?? '' };
}
