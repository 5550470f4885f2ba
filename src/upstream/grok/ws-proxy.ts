import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * `grok.proxy_url` for the WebSocket transport. The REST calls go through undici's proxy agents;
 * the `ws` client takes a `createConnection` instead, so an HTTP(S) proxy is reached with a
 * CONNECT tunnel here, and TLS to grok.com is then layered on the tunnel. SOCKS proxies are not
 * supported on this transport (undici's SOCKS agent cannot hand out a raw socket): start-up fails
 * with a message that says so rather than silently going direct.
 */

type Callback = (err: Error | null, socket?: Socket) => void;
type Connector = (opts: { host?: string; hostname?: string; port?: number | string; servername?: string; protocol?: string; defaultPort?: number }, cb: Callback) => undefined;

export function proxyConnector(proxyUrl: string, connectTimeoutMs: number): Connector | undefined {
  const raw = proxyUrl.trim();
  if (!raw) return undefined;
  const proxy = new URL(raw);
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new Error(`grok.proxy_url '${proxy.protocol}//…' is not supported with grok.chat_transport = "ws"; use an http(s) proxy or chat_transport = "rest"`);
  }
  const auth = proxy.username ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}` : undefined;
  return (opts, cb) => {
    const host = (opts.hostname ?? opts.host ?? '').replace(/^\[|\]$/g, '');
    const secure = opts.defaultPort === 443 || opts.protocol === 'https:' || opts.protocol === 'wss:';
    const port = Number(opts.port) || (secure ? 443 : 80);
    const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    const req = (proxy.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: proxy.hostname,
      port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...(auth ? { 'proxy-authorization': auth } : {}) },
      timeout: connectTimeoutMs,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        cb(Object.assign(new Error(`proxy refused CONNECT (${res.statusCode})`), { code: 'ECONNREFUSED' }));
        return;
      }
      if (!secure) return cb(null, socket);
      const tls = tlsConnect({ socket, servername: opts.servername ?? host, ALPNProtocols: ['http/1.1'] });
      tls.once('secureConnect', () => cb(null, tls));
      tls.once('error', (e) => cb(e));
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('proxy connect timeout'), { code: 'ETIMEDOUT' })));
    req.once('error', (e) => cb(e));
    req.end();
    return undefined;
  };
}
