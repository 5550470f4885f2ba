import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { request, type Dispatcher } from 'undici';
import WebSocket from 'ws';
import type { Config } from '../../../config/schema.js';
import { closeDispatcher, createDispatcher, decodeBody, readBounded } from '../../http-client.js';
import type { EgressPool } from './egress-pool.js';
import { proxyConnector } from './proxy-tunnel.js';
import type { EgressStatus, GrokRequest, GrokResponse, GrokSocket, GrokSocketHandlers, GrokSocketOptions, GrokTransport } from './types.js';

/**
 * The fallback (`grok.http_client = "undici"`): Node's own TLS (recognisably not a browser:
 * docs/upstream-identity.md §1), undici for HTTP and `ws` for the sockets, through
 * `grok.proxy_url` only (no egress pool, no Cloudflare state). For operators whose platform
 * cannot load the native client, and as the baseline the fingerprint test must tell apart.
 */
export class UndiciTransport implements GrokTransport {
  readonly name = 'undici';
  private readonly dispatcher: Dispatcher;
  private readonly ca: string[] | undefined;
  /** Built once: given `ca`, Node would parse ~150 PEM roots again for every socket (one per turn). */
  private readonly secureContext: SecureContext | undefined;

  constructor(
    private readonly config: () => Config,
    private readonly pool: EgressPool,
  ) {
    const caFile = config().grok.ca_file.trim();
    this.ca = caFile ? [...rootCertificates, readFileSync(caFile, 'utf8')] : undefined;
    this.secureContext = this.ca ? createSecureContext({ ca: this.ca }) : undefined;
    this.dispatcher = createDispatcher(config(), this.ca);
  }

  async request(url: string, o: GrokRequest): Promise<GrokResponse> {
    const res = await request(url, {
      method: o.method,
      headers: o.headers,
      body: o.body,
      dispatcher: this.dispatcher,
      signal: o.signal,
      headersTimeout: o.headersTimeout,
      bodyTimeout: o.bodyTimeout,
    });
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && k !== 'content-encoding') headers[k] = v;
    return { statusCode: res.statusCode, headers, body: decodeBody(res.body, res.headers['content-encoding']) };
  }

  openWebSocket(url: string, o: GrokSocketOptions, h: GrokSocketHandlers): GrokSocket {
    const createConnection = proxyConnector(this.config().grok.proxy_url, this.config().timeout.connect_sec * 1000);
    const ws = new WebSocket(url, {
      headers: o.headers,
      handshakeTimeout: o.handshakeTimeoutMs,
      maxPayload: o.maxPayload,
      perMessageDeflate: false,
      ...(this.secureContext ? { secureContext: this.secureContext } : {}),
      ...(createConnection ? { createConnection: createConnection as never } : {}),
    });
    ws.on('unexpected-response', (req, res: IncomingMessage) => {
      void readBounded(decodeBody(res, res.headers['content-encoding'])).then((text) => {
        req.destroy();
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = v;
        h.onRefused(res.statusCode ?? 0, headers, text);
        ws.terminate();
      });
    });
    ws.on('open', () => h.onOpen());
    ws.on('message', (data, isBinary) => {
      if (!isBinary) h.onMessage(data.toString());
    });
    ws.on('error', (e) => h.onError(e));
    ws.on('close', (code) => h.onClose(code));
    return {
      get isOpen() {
        return ws.readyState === WebSocket.OPEN;
      },
      send: (text) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(text);
      },
      close: (code = 1000) => {
        if (ws.readyState !== WebSocket.OPEN) return ws.terminate();
        ws.close(code);
        setTimeout(() => ws.terminate(), 1000).unref();
      },
      terminate: () => ws.terminate(),
      pause: () => ws.pause(),
      resume: () => ws.resume(),
    };
  }

  /** Nothing to refresh: Node's client has no per-egress state. */
  async refreshIdentity(account: string): Promise<void> {
    this.pool.pick(account).antiBotRefreshes++;
  }

  egressStatus(): EgressStatus[] {
    return this.pool.status();
  }

  close(graceMs = 5000): Promise<void> {
    return closeDispatcher(this.dispatcher, graceMs);
  }
}
