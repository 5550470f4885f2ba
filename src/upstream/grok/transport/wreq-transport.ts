import { Readable } from 'node:stream';
import { createSession, createTransport, fetch as wreqFetch, type Session, type Transport } from 'wreq-js';
import type { Config } from '../../../config/schema.js';
import { readBounded } from '../../http-client.js';
import { browserIdentity, identityOf, newestChromeProfile, profileForUserAgent } from './chrome-identity.js';
import { isChallenge, keepCloudflareCookies, solveChallenge, withCloudflareCookies } from './cloudflare.js';
import type { Egress, EgressPool } from './egress-pool.js';
import { EgressRelay } from './egress-relay.js';
import { chromeFetchOrder, chromeUpgradeOrder } from './header-order.js';
import { LaneCache, type Laned } from './lane-cache.js';
import type { EgressStatus, GrokRequest, GrokResponse, GrokSocket, GrokSocketHandlers, GrokSocketOptions, GrokTransport } from './types.js';
import { bodyStream, networkError } from './wreq-body.js';
import { openWreqSocket } from './wreq-socket.js';

/** Chrome's Accept-Encoding; wreq decodes all four natively. */
const CHROME_ACCEPT_ENCODING = 'gzip, deflate, br, zstd';
/** Clients (and their connections) unused this long are closed. */
const IDLE_MS = 5 * 60_000;
/** How long a replaced shared client may finish its in-flight calls. */
const DROP_GRACE_MS = 60_000;

/**
 * grok.com traffic through wreq-js (Chrome's TLS ClientHello, HTTP/2 preface and priorities; a
 * Chrome-like WebSocket handshake), every connection through the egress relay. Short calls share
 * one client per egress and identity; streams (`stream: true`) and WebSockets take a client of
 * their own from a cache for the length of the turn, so cutting its connection stops exactly that
 * turn.
 */
export class WreqTransport implements GrokTransport {
  readonly name = 'wreq';
  private readonly relay: EgressRelay;
  /** Short calls: one client per key, used concurrently (HTTP/2 multiplexes them). */
  private readonly shared = new Map<string, Laned<Transport>>();
  /** Streams: one turn at a time per client. */
  private readonly streams: LaneCache<Transport>;
  /** WebSockets: a session (wreq's sockets need one to honour grok.ca_file), one socket at a time. */
  private readonly sockets: LaneCache<Session>;
  private readonly sweeper: NodeJS.Timeout;
  /** Solves in flight per egress, so a burst of challenged requests asks the solver once. */
  private readonly solving = new Map<string, Promise<void>>();

  constructor(
    private readonly config: () => Config,
    private readonly pool: EgressPool,
  ) {
    this.relay = new EgressRelay(pool, () => config().timeout.connect_sec * 1000);
    this.streams = new LaneCache(this.relay, (t) => t.close(), IDLE_MS);
    this.sockets = new LaneCache(this.relay, (s) => s.close(), IDLE_MS);
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  start(): Promise<void> {
    return this.relay.start();
  }

  async request(url: string, o: GrokRequest): Promise<GrokResponse> {
    const sentWith = this.cloudflareState(o.account);
    const res = await this.requestOnce(url, o);
    const solver = this.config().grok.flaresolverr_url.trim();
    if (!solver || !isChallenge(res.statusCode, res.headers)) return res;
    // A Cloudflare challenge: solve it once through the same egress, then try again (docs/upstream-identity.md §4).
    const page = await readBounded(res.body);
    const egress = this.pool.pick(o.account);
    try {
      await this.solve(egress, url, solver);
    } catch (e) {
      // Counted against the egress: a challenge nobody can solve there is a reason to move its
      // accounts elsewhere.
      this.pool.failed(egress, `challenge not solved: ${(e as Error).message}`);
    }
    // Nothing new to show Cloudflare (the solver answered without a clearance, or with the one just
    // refused): asking again would only fetch the same challenge. The caller gets this one,
    // classified as upstream_anti_bot.
    if (this.cloudflareState(o.account) === sentWith) return { statusCode: res.statusCode, headers: res.headers, body: Readable.from([Buffer.from(page)]) };
    return this.requestOnce(url, o);
  }

  /** What a request of this account shows Cloudflare: its egress, that egress's clearance and User-Agent. */
  private cloudflareState(account: string | undefined): string {
    const e = this.pool.pick(account);
    return `${e.id}|${e.cf.get('cf_clearance') ?? ''}|${e.cfUserAgent ?? ''}`;
  }

  async refreshIdentity(account: string): Promise<void> {
    const egress = this.pool.pick(account);
    egress.antiBotRefreshes++;
    // The account's identity on its egress gets fresh connections (shared with the other accounts
    // of that identity, which lose nothing but a warm connection).
    this.drop(this.clientKey(account).key);
    const solver = this.config().grok.flaresolverr_url.trim();
    if (solver) await this.solve(egress, this.config().grok.base_url, solver);
  }

  openWebSocket(url: string, o: GrokSocketOptions, h: GrokSocketHandlers): GrokSocket {
    const { key, profile, os } = this.clientKey(o.account);
    return openWreqSocket(
      {
        url,
        maxPayload: o.maxPayload,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        connect: async () => {
          const client = await this.sockets.take(key, o.account, (proxy) => createSession({ browser: profile as never, os: os as never, proxy, trustStore: this.trustStore() }));
          const { headers } = this.prepare(o.headers, client.lane.egress, o.account);
          // An upgraded connection never goes back to a pool, so the session is as good as new once
          // the socket's connection is cut.
          const release = () => {
            this.relay.cut(client.lane);
            this.sockets.give(client, true);
          };
          return { session: client.handle, headers: chromeUpgradeOrder(headers), release };
        },
      },
      h,
      (status) => this.refusalReason(url, o, status),
    );
  }

  /**
   * wreq-js reports only the status of a refused upgrade. The same request as a plain GET is
   * refused by grok.com's edge for the same reason (auth, rate limit, anti-bot), with the body and
   * headers (Retry-After) the classifier needs; when it answers differently, the status alone is used.
   */
  private async refusalReason(wsUrl: string, o: GrokSocketOptions, status: number): Promise<{ headers: Record<string, string | string[]>; body: string }> {
    try {
      const res = await this.request(wsUrl.replace(/^ws/i, 'http'), {
        method: 'GET',
        headers: o.headers,
        account: o.account,
        headersTimeout: o.handshakeTimeoutMs,
        bodyTimeout: o.handshakeTimeoutMs,
      });
      const body = await readBounded(res.body);
      return res.statusCode === status ? { headers: res.headers, body } : { headers: {}, body: '' };
    } catch {
      return { headers: {}, body: '' };
    }
  }

  egressStatus(): EgressStatus[] {
    return this.pool.status();
  }

  async close(graceMs = 0): Promise<void> {
    clearInterval(this.sweeper);
    if (graceMs > 0) await new Promise((r) => setTimeout(r, Math.min(graceMs, 100)).unref());
    for (const c of this.shared.values()) void c.handle.close().catch(() => {});
    this.shared.clear();
    this.streams.clear();
    this.sockets.clear();
    await this.relay.close();
  }

  private async requestOnce(url: string, o: GrokRequest): Promise<GrokResponse> {
    const stream = o.stream === true;
    const { key, profile, os } = this.clientKey(o.account);
    const create = (proxy: string) => createTransport({ browser: profile as never, os: os as never, proxy, poolIdleTimeout: IDLE_MS, trustStore: this.trustStore() });
    const client = stream ? await this.streams.take(key, o.account, create) : await this.sharedClient(key, o.account, create);
    const { headers } = this.prepare(o.headers, client.lane.egress, o.account);
    // A stream's client goes back to the cache exactly once: as it is after a clean end (its
    // connection stays open for the next turn), with its connection cut after anything else.
    let given = false;
    const done = (clean: boolean) => {
      if (!stream || given) return;
      given = true;
      this.streams.give(client, clean);
    };
    if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
    const controller = new AbortController();
    const onAbort = () => {
      done(false);
      controller.abort(o.signal?.reason);
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    const headersTimer = setTimeout(() => {
      done(false);
      controller.abort(Object.assign(new Error(`no response headers from grok.com within ${o.headersTimeout} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    }, o.headersTimeout);
    try {
      const res = await wreqFetch(url, {
        method: o.method,
        headers: chromeFetchOrder(headers),
        body: o.body ?? null,
        transport: client.handle,
        disableDefaultHeaders: true,
        redirect: 'manual',
        signal: controller.signal,
        timeout: 0,
      });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of res.headers) {
        const name = k.toLowerCase();
        if (name === 'set-cookie' || name === 'content-encoding') continue;
        out[name] = v;
      }
      const setCookie = res.headers.getSetCookie();
      if (setCookie.length) {
        out['set-cookie'] = setCookie;
        keepCloudflareCookies(client.lane.egress, setCookie);
      }
      out['x-grok2api-egress'] = client.lane.egress.masked;
      const body = bodyStream(res.body as never, o.bodyTimeout, (complete) => {
        o.signal?.removeEventListener('abort', onAbort);
        done(complete);
      });
      return { statusCode: res.status, headers: out, body };
    } catch (e) {
      o.signal?.removeEventListener('abort', onAbort);
      done(false);
      // The caller's own abort reason, as undici gives it: wreq turns every reason into an
      // AbortError, which would make an `AbortSignal.timeout()` look like a client that left.
      if (o.signal?.aborted && o.signal.reason instanceof Error) throw o.signal.reason;
      const reason = controller.signal.reason as { code?: string } | undefined;
      if (controller.signal.aborted && reason?.code === 'UND_ERR_HEADERS_TIMEOUT') throw reason;
      throw networkError(e);
    } finally {
      clearTimeout(headersTimer);
    }
  }

  /** The caller's headers with this egress's identity (a solver's UA wins), cookies and Chrome's encodings. */
  private prepare(input: Record<string, string>, egress: Egress, account: string | undefined): { headers: Record<string, string>; profile: string; os: string } {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(input)) headers[k.toLowerCase()] = v;
    const g = this.config().grok;
    let id = browserIdentity(g, account);
    if (egress.cfUserAgent) {
      id = identityOf(profileForUserAgent(egress.cfUserAgent) ?? newestChromeProfile(), osOf(egress.cfUserAgent), egress.cfUserAgent);
      headers['user-agent'] = id.userAgent;
    }
    if (headers['user-agent'] !== undefined) {
      headers['user-agent'] = id.userAgent;
      headers['sec-ch-ua'] = id.secChUa;
      headers['sec-ch-ua-mobile'] = id.secChUaMobile;
      headers['sec-ch-ua-platform'] = id.secChUaPlatform;
    }
    // Always, not only when the caller set one: wreq appends its own accept-encoding after every
    // other header when the list has none (measured on the session lookup: after priority), and
    // Chrome sends one on every request, before accept-language.
    headers['accept-encoding'] = CHROME_ACCEPT_ENCODING;
    const cookie = withCloudflareCookies(headers.cookie, egress);
    if (cookie !== undefined) headers.cookie = cookie;
    return { headers, profile: id.profile, os: id.os };
  }

  /**
   * Roots a new client verifies grok.com with. The bundled Mozilla roots are the cheap choice
   * (measured per client: 2 ms of CPU and no lasting memory, against 14 ms and 1.2 MiB for
   * "combined", which parses the system bundle every time); a `grok.ca_file` needs "combined",
   * the only mode that adds SSL_CERT_FILE to the public roots.
   */
  private trustStore(): 'mozilla' | 'combined' {
    return this.config().grok.ca_file.trim() ? 'combined' : 'mozilla';
  }

  /** Which client serves an account: its egress, and the identity (profile, OS) it is seen with. */
  private clientKey(account: string | undefined): { key: string; profile: string; os: string } {
    const egress = this.pool.pick(account);
    const id = egress.cfUserAgent ? identityOf(profileForUserAgent(egress.cfUserAgent) ?? newestChromeProfile(), osOf(egress.cfUserAgent)) : browserIdentity(this.config().grok, account);
    // Clients are shared by the accounts of an egress and identity (cookies are explicit per
    // request; wreq keeps no jar here). Each wreq client holds its own parsed root store, about
    // 0.8–1.2 MiB whatever the trust mode (measured), so a client per account would cost a
    // gigabyte for a thousand accounts, and a turn cache per account grew to each account's peak
    // concurrency (305 clients created for 700 turns at c=64 over 16 accounts).
    return { key: `${egress.id}|${id.profile}|${id.os}`, profile: id.profile, os: id.os };
  }

  private async sharedClient(key: string, account: string | undefined, create: (proxyUrl: string) => Promise<Transport>): Promise<Laned<Transport>> {
    let c = this.shared.get(key);
    if (c && !c.lane.killed) {
      c.lastUsed = Date.now();
      return c;
    }
    const { lane, proxyUrl } = this.relay.open(account);
    c = { key, handle: await create(proxyUrl), lane, lastUsed: Date.now() };
    this.shared.set(key, c);
    return c;
  }

  /**
   * Drops every client whose key starts with `prefix`: new requests get new connections. A shared
   * client may still carry other accounts' short calls, so it is closed only after a grace period;
   * idle turn clients go at once (busy ones are not in the cache).
   */
  private drop(prefix: string): void {
    for (const [key, c] of this.shared) {
      if (!key.startsWith(prefix)) continue;
      this.shared.delete(key);
      setTimeout(() => {
        this.relay.kill(c.lane);
        void c.handle.close().catch(() => {});
      }, DROP_GRACE_MS).unref();
    }
    this.streams.drop(prefix);
    this.sockets.drop(prefix);
  }

  private sweep(now = Date.now()): void {
    for (const [key, c] of this.shared) {
      if (now - c.lastUsed < IDLE_MS) continue;
      this.shared.delete(key);
      this.relay.kill(c.lane);
      void c.handle.close().catch(() => {});
    }
    this.streams.sweep(now);
    this.sockets.sweep(now);
  }

  private solve(egress: Egress, url: string, solver: string): Promise<void> {
    let p = this.solving.get(egress.id);
    if (!p) {
      const timeoutMs = Math.max(30_000, this.config().timeout.first_byte_sec * 1000);
      p = solveChallenge(solver, new URL(url).origin + '/', this.pool.proxyFor(egress, undefined), timeoutMs)
        .then((s) => {
          egress.cf = new Map(s.cookies);
          egress.cfUserAgent = s.userAgent || null;
          egress.cfSolvedAt = Date.now();
          // Connections opened with the old identity must not carry the new clearance.
          this.drop(`${egress.id}|`);
        })
        .finally(() => this.solving.delete(egress.id));
      this.solving.set(egress.id, p);
    }
    return p;
  }
}

function osOf(ua: string): string {
  return /Windows/.test(ua) ? 'windows' : /Mac OS X|Macintosh/.test(ua) ? 'macos' : 'linux';
}
