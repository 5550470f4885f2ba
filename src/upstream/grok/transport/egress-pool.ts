import { createHash } from 'node:crypto';
import { parseProxyUrl } from './proxy-tunnel.js';
import type { EgressStatus } from './types.js';

/**
 * The ways out to grok.com: direct, `grok.proxy_url`, and every entry of `grok.egress_proxies`.
 * Each account is bound to one egress by rendezvous hashing over the healthy ones, so it keeps the
 * same address (and the same Cloudflare clearance) on every instance without any stored binding;
 * when its egress fails it moves to the next one by the same hash, and back once it recovers.
 * `{account}` in a proxy user name becomes a short hash of the account (rotating residential
 * providers pin a session to that name; the token itself never leaves the process).
 */

export interface Egress {
  readonly id: string;
  /** Null = direct. */
  readonly proxy: URL | null;
  readonly masked: string;
  failures: number;
  consecutiveFailures: number;
  /** While set and in the future, the egress is skipped unless no other is left. */
  downUntil: number;
  lastError: string | null;
  lastErrorAt: number | null;
  bytesIn: number;
  bytesOut: number;
  antiBotRefreshes: number;
  openConnections: number;
  /** Cloudflare cookies seen in Set-Cookie for this egress, and the UA a solver got them with. */
  cf: Map<string, string>;
  cfUserAgent: string | null;
  cfSolvedAt: number | null;
}

/** Failures in a row after which an egress is taken out for `DOWN_MS`. */
const FAILS_TO_DOWN = 3;
const DOWN_MS = 30_000;

export class EgressPool {
  private egresses: Egress[] = [];
  private key = '';
  private readonly bound = new Map<string, string>();

  constructor(private readonly urls: () => string[]) {
    this.refresh();
  }

  /** Picks up changed settings; an unchanged list keeps its state (health, cookies, counters). */
  refresh(): void {
    const urls = this.urls().map((u) => u.trim()).filter(Boolean);
    const key = urls.join('\n');
    if (key === this.key && this.egresses.length) return;
    const old = new Map(this.egresses.map((e) => [e.id, e]));
    this.key = key;
    this.egresses = (urls.length ? urls : ['']).map((u) => old.get(egressId(u)) ?? newEgress(u));
  }

  all(): readonly Egress[] {
    return this.egresses;
  }

  /** The egress for an account (`undefined` account: the first healthy one). */
  pick(account: string | undefined, now = Date.now()): Egress {
    this.refresh();
    const list = this.egresses;
    if (list.length === 1) {
      // Bound all the same, so the status counts the accounts of a single egress too.
      if (account) this.bound.set(accountKey(account), list[0]!.id);
      return list[0]!;
    }
    const healthy = list.filter((e) => e.downUntil <= now);
    const candidates = healthy.length ? healthy : list;
    const key = account ? accountKey(account) : '';
    let best = candidates[0]!;
    let bestScore = -1;
    for (const e of candidates) {
      const score = createHash('sha256').update(`${e.id}|${key}`).digest().readUInt32BE(0);
      if (score > bestScore) [best, bestScore] = [e, score];
    }
    if (account) this.bound.set(key, best.id);
    return best;
  }

  /** Egresses to try after `failed` for the same account, best first. */
  alternatives(failed: Egress, now = Date.now()): Egress[] {
    return this.egresses.filter((e) => e !== failed && e.downUntil <= now);
  }

  /** The proxy URL to dial for an account, with `{account}` filled in. */
  proxyFor(egress: Egress, account: string | undefined): URL | null {
    if (!egress.proxy) return null;
    if (!egress.proxy.username.includes('%7Baccount%7D') && !egress.proxy.username.includes('{account}')) return egress.proxy;
    const u = new URL(egress.proxy.href);
    u.username = egress.proxy.username.replace(/%7Baccount%7D|\{account\}/g, account ? accountKey(account) : 'shared');
    return u;
  }

  succeeded(e: Egress): void {
    e.consecutiveFailures = 0;
    e.downUntil = 0;
  }

  failed(e: Egress, error: string, now = Date.now()): void {
    e.failures++;
    e.consecutiveFailures++;
    e.lastError = error;
    e.lastErrorAt = now;
    if (e.consecutiveFailures >= FAILS_TO_DOWN) e.downUntil = now + DOWN_MS;
  }

  status(now = Date.now()): EgressStatus[] {
    // A list changed in the settings shows at once, not only after the next request picks an egress.
    this.refresh();
    const perEgress = new Map<string, number>();
    for (const id of this.bound.values()) perEgress.set(id, (perEgress.get(id) ?? 0) + 1);
    return this.egresses.map((e) => ({
      id: e.id,
      url: e.masked,
      healthy: e.downUntil <= now,
      accounts: perEgress.get(e.id) ?? 0,
      openConnections: e.openConnections,
      failures: e.failures,
      lastError: e.lastError,
      lastErrorAt: e.lastErrorAt ? new Date(e.lastErrorAt).toISOString() : null,
      bytesIn: e.bytesIn,
      bytesOut: e.bytesOut,
      antiBotRefreshes: e.antiBotRefreshes,
      cloudflare: { cookies: [...e.cf.keys()], userAgent: e.cfUserAgent, solvedAt: e.cfSolvedAt ? new Date(e.cfSolvedAt).toISOString() : null },
    }));
  }
}

/** A short stable name for an account: never the token itself. */
export function accountKey(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

function egressId(url: string): string {
  return url ? `egress-${createHash('sha256').update(url).digest('hex').slice(0, 8)}` : 'direct';
}

function newEgress(url: string): Egress {
  const proxy = url ? parseProxyUrl(url) : null;
  let masked = 'direct';
  if (proxy) {
    const m = new URL(proxy.href);
    if (m.password) m.password = '***';
    masked = m.href.replace(/\/$/, '');
  }
  return {
    id: egressId(url),
    proxy,
    masked,
    failures: 0,
    consecutiveFailures: 0,
    downUntil: 0,
    lastError: null,
    lastErrorAt: null,
    bytesIn: 0,
    bytesOut: 0,
    antiBotRefreshes: 0,
    openConnections: 0,
    cf: new Map(),
    cfUserAgent: null,
    cfSolvedAt: null,
  };
}
