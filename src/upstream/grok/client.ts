import type { Config } from '../../config/schema.js';
import { upstreamTimeouts, type UpstreamTimeouts } from '../http-client.js';
import { classifyFrameError, classifyGatewayError, classifyHttp, classifyNetwork, upstreamErrors } from './classify.js';
import { buildCookie, buildGrokHeaders, sameOriginFetch, userAgentFor } from './headers.js';
import { browserIdentity } from './transport/chrome-identity.js';
import type { GrokRequest, GrokResponse, GrokSocket, GrokSocketHandlers, GrokSocketOptions, GrokTransport } from './transport/index.js';

/** A request as the call sites write it: the timeouts default to `timeout.first_byte_sec` / `timeout.idle_sec`. */
export type GrokCall = Omit<GrokRequest, 'headersTimeout' | 'bodyTimeout'> & Partial<Pick<GrokRequest, 'headersTimeout' | 'bodyTimeout'>>;

/** What one configuration object yields; rebuilt when a settings change brings a new one. */
interface Derived {
  config: Config;
  baseUrl: string;
  origin: string;
  assetsUrl: string;
  accountsUrl: string;
  timeouts: UpstreamTimeouts;
}

const trim = (u: string) => u.replace(/\/+$/, '');

/**
 * The one grok.com client, built once by the grok provider (provider.ts) and handed to every
 * grok.com call: chat (REST and mgw), uploads, the session lookup, quota, NSFW setup, imagine,
 * edits, video and asset downloads. It owns
 * - the base, assets and accounts URLs (`grok.base_url` / `GROK_BASE_URL`, `grok.assets_url` /
 *   `GROK_ASSETS_URL`, `grok.accounts_url`), trailing slashes trimmed, a path prefix kept (a
 *   reverse proxy in front of grok.com, a test server);
 * - the timeouts (`[timeout]`), defaulted on every request;
 * - the identity headers (REST headers, cookie, User-Agent, same-origin fetch headers; headers.ts);
 * - the transport (transport/: the Chrome-identity client), and
 * - the classification of failures (classify.ts).
 *
 * The configuration is read through a getter on every call, so a runtime settings change (the
 * admin settings API swaps the whole config object) applies to the next request; everything
 * derived from it is computed once per config object. A plain `Config` (tests, the doctor) stays
 * fixed.
 */
export class GrokClient {
  private readonly current: () => Config;
  private derived: Derived | undefined;

  /** The classifier's factories for failures our own code detects (bad response, timeout, abort, …). */
  readonly errors = upstreamErrors;
  /** A non-2xx answer (status, bounded body, headers) → a classified UpstreamError. */
  readonly classifyHttp = classifyHttp;
  /** A thrown error (connect, reset, timeout, abort, decoder) → a classified UpstreamError. */
  readonly classifyNetwork = classifyNetwork;
  /** An in-band error of a REST answer stream → a classified UpstreamError. */
  readonly classifyFrame = classifyFrameError;
  /** An mgw gateway `error` event → a classified UpstreamError. */
  readonly classifyGateway = classifyGatewayError;

  constructor(
    config: Config | (() => Config),
    readonly transport: GrokTransport,
  ) {
    this.current = typeof config === 'function' ? config : () => config;
  }

  private get d(): Derived {
    const config = this.current();
    let d = this.derived;
    if (d?.config !== config) {
      const g = config.grok;
      const baseUrl = trim(g.base_url);
      d = this.derived = { config, baseUrl, origin: new URL(g.base_url).origin, assetsUrl: trim(g.assets_url), accountsUrl: trim(g.accounts_url), timeouts: upstreamTimeouts(config) };
    }
    return d;
  }

  /** The configuration now. A multi-step call reads it once and builds its payloads from that. */
  get config(): Config {
    return this.current();
  }

  /** `grok.base_url` without trailing slashes. */
  get baseUrl(): string {
    return this.d.baseUrl;
  }

  /** The base URL's origin: `Origin` and `Referer` of every browser-like request. */
  get origin(): string {
    return this.d.origin;
  }

  /** `grok.assets_url` without trailing slashes: relative asset paths resolve against it. */
  get assetsUrl(): string {
    return this.d.assetsUrl;
  }

  /** `grok.accounts_url` without trailing slashes (terms of service, NSFW setup). */
  get accountsUrl(): string {
    return this.d.accountsUrl;
  }

  get timeouts(): UpstreamTimeouts {
    return this.d.timeouts;
  }

  /** Base URL + `path` (which starts with `/`). */
  url(path: string): string {
    return `${this.d.baseUrl}${path}`;
  }

  /** The WebSocket URL of `path` on the base URL (`https` → `wss`, `http` → `ws`). */
  wsUrl(path: string): string {
    return `${this.d.baseUrl.replace(/^http/i, 'ws')}${path}`;
  }

  /** The REST headers of one call (fresh request and statsig ids), JSON unless `contentType` says otherwise. */
  headers(token: string, contentType?: string): Record<string, string> {
    return buildGrokHeaders(this.current().grok, token, contentType);
  }

  /** `sso`/`sso-rw` cookie of the account, with `grok.cf_clearance` unless `withClearance` is false (other hosts). */
  cookie(token: string, withClearance = true): string {
    return buildCookie(token, withClearance ? this.current().grok.cf_clearance : '');
  }

  /** The User-Agent of the account's Chrome identity. */
  userAgent(token: string): string {
    return userAgentFor(this.current().grok, token);
  }

  /** What a same-origin `fetch()` from a grok.com page adds for the account's identity. */
  sameOriginFetch(token: string): Record<string, string> {
    const config = this.current();
    return sameOriginFetch(this.d.origin, browserIdentity(config.grok, token));
  }

  /** One request through the transport; the timeouts default to the configured first-byte and idle limits. */
  request(url: string, call: GrokCall): Promise<GrokResponse> {
    const t = this.d.timeouts;
    return this.transport.request(url, { ...call, headersTimeout: call.headersTimeout ?? t.firstByteMs, bodyTimeout: call.bodyTimeout ?? t.idleMs });
  }

  /** Opens a WebSocket through the transport (never throws; see GrokTransport.openWebSocket). */
  openWebSocket(url: string, options: GrokSocketOptions, handlers: GrokSocketHandlers): GrokSocket {
    return this.transport.openWebSocket(url, options, handlers);
  }
}
