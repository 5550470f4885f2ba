import { createSession, createTransport, fetch as wreqFetch, type Session, type Transport, type WebSocket as WreqSocket } from 'wreq-js';
import type { Config } from '../../../config/schema.js';
import { readBounded } from '../../http-client.js';
import { browserIdentity, identityOf, newestChromeProfile, profileForUserAgent } from './chrome-identity.js';
import { isChallenge, keepCloudflareCookies, solveChallenge, withCloudflareCookies } from './cloudflare.js';
import type { Egress, EgressPool } from './egress-pool.js';
import { accountKey } from './egress-pool.js';
import { EgressRelay, type Lane } from './egress-relay.js';
import { chromeFetchOrder, chromeUpgradeOrder } from './header-order.js';
import type { EgressStatus, GrokRequest, GrokResponse, GrokSocket, GrokSocketHandlers, GrokSocketOptions, GrokTransport } from './types.js';
import { bodyStream, networkError } from './wreq-body.js';

/** Chrome's Accept-Encoding; wreq decodes all four natively. */
const CHROME_ACCEPT_ENCODING = 'gzip, deflate, br, zstd';
/** Pooled (non-streaming) connections unused this long are closed. */
const POOL_IDLE_MS = 5 * 60_000;

interface PooledLane {
  transport: Transport;
  lane: Lane;
  lastUsed: number;
}

/**
 * grok.com traffic through wreq-js (Chrome's TLS ClientHello, HTTP/2 preface and priorities; a
 * Chrome-like WebSocket handshake), every connection through the egress relay. Short calls share
 * one pooled connection per account and egress; streams (`stream: true`) and WebSockets get a
 * lane of their own that is cut the moment the caller lets go.
 */
export class WreqTransport implements GrokTransport {
  readonly name = 'wreq';
  private readonly relay: EgressRelay;
  private readonly pooled = new Map<string, PooledLane>();
  private readonly sweeper: NodeJS.Timeout;
  /** Solves in flight per egress, so a burst of challenged requests asks the solver once. */
  private readonly solving = new Map<string, Promise<void>>();

  constructor(
    private readonly config: () => Config,
    private readonly pool: EgressPool,
  ) {
    this.relay = new EgressRelay(pool, () => config().timeout.connect_sec * 1000);
    this.sweeper = setInterval(() => this.sweep(), 60_000).unref();
  }

  start(): Promise<void> {
    return this.relay.start();
  }

  async request(url: string, o: GrokRequest): Promise<GrokResponse> {
    const res = await this.requestOnce(url, o);
    const solver = this.config().grok.flaresolverr_url.trim();
    if (!solver || !isChallenge(res.statusCode, res.headers)) return res;
    // A Cloudflare challenge: solve it once through the same egress, then try again (§4).
    res.body.destroy();
    const egress = this.pool.pick(o.account);
    try {
      await this.solve(egress, url, solver);
    } catch (e) {
      this.pool.failed(egress, `challenge not solved: ${(e as Error).message}`);
      return this.requestOnce(url, o);
    }
    return this.requestOnce(url, o);
  }

  async refreshIdentity(account: string): Promise<void> {
    const egress = this.pool.pick(account);
    egress.antiBotRefreshes++;
    const prefix = `${egress.id}|${accountKey(account)}|`;
    for (const [key, p] of this.pooled) {
      if (!key.startsWith(prefix)) continue;
      this.pooled.delete(key);
      this.relay.kill(p.lane);
      void p.transport.close().catch(() => {});
    }
    const solver = this.config().grok.flaresolverr_url.trim();
    if (solver) await this.solve(egress, this.config().grok.base_url, solver);
  }

  openWebSocket(url: string, o: GrokSocketOptions, h: GrokSocketHandlers): GrokSocket {
    const { lane, proxyUrl } = this.relay.open(o.account);
    const { headers, profile, os } = this.prepare(o.headers, lane.egress, o.account);
    let ws: WreqSocket | undefined;
    let session: Session | undefined;
    let state: 'connecting' | 'open' | 'closed' = 'connecting';
    const relay = this.relay;
    const finish = (code: number) => {
      if (state === 'closed') return;
      state = 'closed';
      clearTimeout(handshake);
      relay.kill(lane);
      void session?.close().catch(() => {});
      h.onClose(code);
    };
    const handshake = setTimeout(() => {
      if (state !== 'connecting') return;
      h.onError(Object.assign(new Error(`WebSocket handshake not finished within ${o.handshakeTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
      finish(1006);
    }, o.handshakeTimeoutMs);
    // A session of its own per socket, not wreq's standalone `websocket()`: in wreq-js 3.1.0 that
    // one verifies against its bundled roots only, so grok.ca_file (SSL_CERT_FILE) never reached
    // the sockets (measured: CERTIFICATE_VERIFY_FAILED where a session's socket connects, with the
    // same ClientHello and upgrade headers).
    const connect = async (): Promise<WreqSocket> => {
      const s = await createSession({ browser: profile as never, os: os as never, proxy: proxyUrl });
      session = s;
      if (state === 'closed') {
        void s.close().catch(() => {});
        throw new Error('closed before the handshake');
      }
      return s.websocket(url, { headers: chromeUpgradeOrder(headers), maxFrameSize: o.maxPayload, maxMessageSize: o.maxPayload });
    };
    connect().then(
      (socket) => {
        ws = socket;
        if (state === 'closed') return safeClose(socket);
        state = 'open';
        clearTimeout(handshake);
        socket.onmessage = (e) => {
          if (typeof e.data === 'string') h.onMessage(e.data);
        };
        socket.onerror = (e) => h.onError(networkError(new Error(e.message ?? 'WebSocket error')));
        socket.onclose = (e) => finish(e.code);
        h.onOpen();
      },
      (e: unknown) => {
        if (state === 'closed') return;
        const status = /unexpected status code:?\s*(\d{3})/i.exec(String((e as Error)?.message ?? e));
        if (!status) {
          h.onError(networkError(e));
          return finish(1006);
        }
        void this.refusalReason(url, o, Number(status[1])).then(({ headers, body }) => {
          if (state === 'closed') return;
          h.onRefused(Number(status[1]), headers, body);
          finish(1006);
        });
      },
    );
    return {
      get isOpen() {
        return state === 'open';
      },
      send: (text) => {
        if (state !== 'open') return;
        try {
          ws?.send(text);
        } catch (e) {
          // The native side already dropped the connection; its close event follows.
          h.onError(networkError(e));
        }
      },
      close: (code = 1000) => {
        if (state !== 'open') return finish(1006);
        safeClose(ws, code);
        // A peer that never answers the close frame must not hold the connection.
        setTimeout(() => finish(1006), 1000).unref();
      },
      terminate: () => {
        safeClose(ws);
        finish(1006);
      },
      pause: () => {},
      resume: () => {},
    };
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
    for (const p of this.pooled.values()) void p.transport.close().catch(() => {});
    this.pooled.clear();
    await this.relay.close();
  }

  private async requestOnce(url: string, o: GrokRequest): Promise<GrokResponse> {
    const dedicated = o.stream === true;
    const pooled = dedicated ? undefined : await this.pooledLane(o.account);
    let lane: Lane;
    let transport: Transport;
    let profile: string;
    let os: string;
    let headers: Record<string, string>;
    if (pooled) {
      ({ lane, transport } = pooled);
      ({ headers } = this.prepare(o.headers, lane.egress, o.account));
    } else {
      const opened = this.relay.open(o.account);
      lane = opened.lane;
      ({ headers, profile, os } = this.prepare(o.headers, lane.egress, o.account));
      transport = await createTransport({ browser: profile as never, os: os as never, proxy: opened.proxyUrl, poolMaxIdlePerHost: 1 });
    }
    const cut = () => {
      if (dedicated) {
        this.relay.kill(lane);
        void transport.close().catch(() => {});
      }
    };
    if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
    const controller = new AbortController();
    const onAbort = () => {
      cut();
      controller.abort(o.signal?.reason);
    };
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    const headersTimer = setTimeout(() => {
      cut();
      controller.abort(Object.assign(new Error(`no response headers from grok.com within ${o.headersTimeout} ms`), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    }, o.headersTimeout);
    try {
      const res = await wreqFetch(url, {
        method: o.method,
        headers: chromeFetchOrder(headers),
        body: o.body ?? null,
        transport,
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
        keepCloudflareCookies(lane.egress, setCookie);
      }
      out['x-grok2api-egress'] = lane.egress.masked;
      const body = bodyStream(res.body as never, o.bodyTimeout, () => {
        o.signal?.removeEventListener('abort', onAbort);
        cut();
      });
      return { statusCode: res.status, headers: out, body };
    } catch (e) {
      o.signal?.removeEventListener('abort', onAbort);
      cut();
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

  private async pooledLane(account: string | undefined): Promise<PooledLane> {
    const egress = this.pool.pick(account);
    const id = egress.cfUserAgent ? identityOf(profileForUserAgent(egress.cfUserAgent) ?? newestChromeProfile(), osOf(egress.cfUserAgent)) : browserIdentity(this.config().grok, account);
    const key = `${egress.id}|${account ? accountKey(account) : ''}|${id.profile}|${id.os}`;
    let p = this.pooled.get(key);
    if (p && !p.lane.killed) {
      p.lastUsed = Date.now();
      return p;
    }
    const { lane, proxyUrl } = this.relay.open(account);
    const transport = await createTransport({ browser: id.profile as never, os: id.os as never, proxy: proxyUrl, poolIdleTimeout: POOL_IDLE_MS });
    p = { transport, lane, lastUsed: Date.now() };
    this.pooled.set(key, p);
    return p;
  }

  private sweep(now = Date.now()): void {
    for (const [key, p] of this.pooled) {
      if (now - p.lastUsed < POOL_IDLE_MS) continue;
      this.pooled.delete(key);
      this.relay.kill(p.lane);
      void p.transport.close().catch(() => {});
    }
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
          for (const [key, lane] of this.pooled) {
            if (!key.startsWith(`${egress.id}|`)) continue;
            this.pooled.delete(key);
            this.relay.kill(lane.lane);
            void lane.transport.close().catch(() => {});
          }
        })
        .finally(() => this.solving.delete(egress.id));
      this.solving.set(egress.id, p);
    }
    return p;
  }
}

function safeClose(ws: WreqSocket | undefined, code?: number): void {
  try {
    ws?.close(code);
  } catch {
    // already gone
  }
}

function osOf(ua: string): string {
  return /Windows/.test(ua) ? 'windows' : /Mac OS X|Macintosh/.test(ua) ? 'macos' : 'linux';
}
