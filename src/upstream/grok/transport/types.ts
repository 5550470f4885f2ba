import type { Readable } from 'node:stream';

/**
 * The one way out to grok.com: every REST call, upload, asset download, gRPC-web call and both
 * WebSockets go through a `GrokTransport`. The production one (`wreq`) presents Chrome's TLS
 * ClientHello, HTTP/2 preface and header order; `undici` (Node's own TLS) is kept as a fallback
 * for operators who need it. Everything that is not grok.com (guarded fetches of client URLs,
 * other upstreams) keeps using undici directly.
 */
export interface GrokTransport {
  /** `wreq` or `undici`: shown by the doctor and in the fingerprint test's failure message. */
  readonly name: 'wreq' | 'undici';
  /**
   * One HTTP request. Resolves once the response headers arrived. The body is already
   * decompressed (`content-encoding` is removed from `headers`); destroying it, or aborting
   * `signal`, releases the request at once (for `stream: true`, the connection is closed).
   */
  request(url: string, options: GrokRequest): Promise<GrokResponse>;
  /** Opens a WebSocket; events arrive through `handlers`. Never throws: failures go to `onError`/`onRefused`. */
  openWebSocket(url: string, options: GrokSocketOptions, handlers: GrokSocketHandlers): GrokSocket;
  /**
   * A fresh identity for the account's next request after an anti-bot refusal: its pooled
   * connection is dropped, and with a challenge solver configured its egress gets new clearance.
   */
  refreshIdentity(account: string): Promise<void>;
  /** Egress status for the admin API and the doctor. */
  egressStatus(): EgressStatus[];
  /** Closes every connection; in-flight requests get `graceMs` before they are cut. */
  close(graceMs?: number): Promise<void>;
}

export interface GrokRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Header names in any case; the transport sends them in Chrome's order. */
  headers: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** Request sent → response headers. */
  headersTimeout: number;
  /** Longest silence between two pieces of the body. */
  bodyTimeout: number;
  /**
   * A long answer the caller reads incrementally (chat, video): it gets a connection of its own,
   * so closing it stops grok.com generating at once without touching other requests.
   */
  stream?: boolean;
  /** The account's SSO token: picks the account's sticky egress (never sent anywhere by this field). */
  account?: string;
}

export interface GrokResponse {
  statusCode: number;
  /** Lower-case names; `set-cookie` as an array. */
  headers: Record<string, string | string[]>;
  body: Readable;
}

export interface GrokSocketOptions {
  headers: Record<string, string>;
  handshakeTimeoutMs: number;
  /** Largest frame accepted. */
  maxPayload: number;
  account?: string;
}

export interface GrokSocketHandlers {
  onOpen(): void;
  /** Text frames only; binary frames carry nothing grok.com's sockets need. */
  onMessage(text: string): void;
  onClose(code: number): void;
  onError(err: Error): void;
  /** The upgrade was answered with an HTTP status instead of 101 (body may be empty when the client cannot read it). */
  onRefused(status: number, headers: Record<string, string | string[]>, body: string): void;
}

export interface GrokSocket {
  readonly isOpen: boolean;
  send(text: string): void;
  /** Clean close (close frame); a peer that does not answer is cut after a second. */
  close(code?: number): void;
  /** Cuts the connection at once. */
  terminate(): void;
  /** Flow control where the client supports it (the `ws` fallback); no-ops otherwise. */
  pause(): void;
  resume(): void;
}

export interface EgressStatus {
  id: string;
  /** The proxy URL with its password masked; `direct` when none. */
  url: string;
  healthy: boolean;
  accounts: number;
  openConnections: number;
  failures: number;
  lastError: string | null;
  lastErrorAt: string | null;
  bytesIn: number;
  bytesOut: number;
  /** Identity refreshes after anti-bot refusals of accounts on this egress. */
  antiBotRefreshes: number;
  /** Cloudflare cookies held for this egress (names only) and the User-Agent they were issued for. */
  cloudflare: { cookies: string[]; userAgent: string | null; solvedAt: string | null };
}
