import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/**
 * Tunnels through an egress proxy: an HTTP CONNECT for http(s) proxies, the SOCKS5 handshake
 * (RFC 1928, user/password per RFC 1929) for socks5 and socks5h. `socks5h` lets the proxy resolve
 * the name (as curl does); `socks5` resolves it here. Used by the egress relay (every wreq
 * connection) and by the undici fallback's WebSockets.
 */

type Callback = (err: Error | null, socket?: Socket) => void;
type Connector = (opts: { host?: string; hostname?: string; port?: number | string; servername?: string; protocol?: string; defaultPort?: number }, cb: Callback) => undefined;

const PROTOCOLS = new Set(['http:', 'https:', 'socks5:', 'socks5h:']);

/** Parses a proxy URL, or throws a message that says which schemes work. */
export function parseProxyUrl(raw: string): URL {
  let proxy: URL;
  try {
    proxy = new URL(raw.trim());
  } catch {
    throw new Error('an egress proxy URL is not a valid URL; use http://host:port, https://host:port, socks5://host:port or socks5h://host:port');
  }
  if (!PROTOCOLS.has(proxy.protocol)) {
    throw new Error(`egress proxy '${proxy.protocol}//…' is not supported: use http://, https://, socks5:// or socks5h://`);
  }
  return proxy;
}

/** A TCP tunnel to host:port through `proxy`. */
export function openTunnel(proxy: URL, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return proxy.protocol.startsWith('socks') ? socksTunnel(proxy, user, pass, host, port, timeoutMs) : connectTunnel(proxy, user, pass, host, port, timeoutMs);
}

/** A `createConnection` for the `ws` library (undici fallback): tunnel, then TLS with ALPN http/1.1. */
export function proxyConnector(proxyUrl: string, connectTimeoutMs: number): Connector | undefined {
  if (!proxyUrl.trim()) return undefined;
  const proxy = parseProxyUrl(proxyUrl);
  return (opts, cb) => {
    const host = (opts.hostname ?? opts.host ?? '').replace(/^\[|\]$/g, '');
    const secure = opts.defaultPort === 443 || opts.protocol === 'https:' || opts.protocol === 'wss:';
    const port = Number(opts.port) || (secure ? 443 : 80);
    openTunnel(proxy, host, port, connectTimeoutMs).then(
      (socket) => {
        if (!secure) return cb(null, socket);
        const tls = tlsConnect({ socket, servername: opts.servername ?? host, ALPNProtocols: ['http/1.1'] });
        tls.once('secureConnect', () => cb(null, tls));
        tls.once('error', (e) => cb(e));
      },
      (e: Error) => cb(e),
    );
    return undefined;
  };
}

const proxyError = (message: string, code: string) => Object.assign(new Error(message), { code });

function connectTunnel(proxy: URL, user: string, pass: string, host: string, port: number, timeoutMs: number): Promise<Socket> {
  const target = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const auth = user ? `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` : undefined;
  return new Promise((resolve, reject) => {
    const req = (proxy.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: proxy.hostname,
      port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...(auth ? { 'proxy-authorization': auth } : {}) },
      timeout: timeoutMs,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        return reject(proxyError(`proxy refused CONNECT (${res.statusCode})`, 'ECONNREFUSED'));
      }
      resolve(socket);
    });
    req.once('timeout', () => req.destroy(proxyError('proxy connect timeout', 'ETIMEDOUT')));
    req.once('error', reject);
    req.end();
  });
}

/** SOCKS5 CONNECT to host:port through `proxy`; resolves with the tunnelled socket. */
async function socksTunnel(proxy: URL, user: string, pass: string, host: string, port: number, timeoutMs: number): Promise<Socket> {
  // socks5: the name is resolved here and the proxy gets an address; socks5h: the proxy resolves it.
  const address = proxy.protocol === 'socks5:' && !isIP(host) ? (await lookup(host)).address : host;
  const socket = netConnect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port) || 1080 });
  const reader = new ExactReader(socket);
  const timer = setTimeout(() => socket.destroy(proxyError('proxy connect timeout', 'ETIMEDOUT')), timeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const methods = user ? [0x00, 0x02] : [0x00];
    socket.write(Buffer.from([0x05, methods.length, ...methods]));
    const [version, method] = await reader.read(2);
    if (version !== 0x05) throw proxyError('the proxy does not speak SOCKS5', 'ECONNREFUSED');
    if (method === 0x02 && user) {
      const u = Buffer.from(user);
      const p = Buffer.from(pass);
      socket.write(Buffer.concat([Buffer.from([0x01, u.length]), u, Buffer.from([p.length]), p]));
      const [, status] = await reader.read(2);
      if (status !== 0x00) throw proxyError('the SOCKS5 proxy refused the user name or password', 'ECONNREFUSED');
    } else if (method !== 0x00) {
      throw proxyError(user ? 'the SOCKS5 proxy accepts none of our authentication methods' : 'the SOCKS5 proxy wants a user name and password', 'ECONNREFUSED');
    }
    socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00]), encodeAddress(address), Buffer.from([port >> 8, port & 0xff])]));
    const [, reply, , type] = await reader.read(4);
    if (reply !== 0x00) throw proxyError(`the SOCKS5 proxy could not connect to ${host}:${port} (reply ${reply})`, 'ECONNREFUSED');
    // The bound address that follows is of no use to us, but must be read past.
    const addrLen = type === 0x01 ? 4 : type === 0x04 ? 16 : (await reader.read(1))[0]!;
    await reader.read(addrLen + 2);
    const rest = reader.detach();
    if (rest.length) socket.unshift(rest);
    return socket;
  } catch (e) {
    reader.detach();
    socket.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

function encodeAddress(address: string): Buffer {
  const kind = isIP(address);
  if (kind === 4) return Buffer.from([0x01, ...address.split('.').map(Number)]);
  if (kind === 6) {
    // Expand "::" then write the eight 16-bit groups.
    const [head, tail = ''] = address.split('::');
    const a = head ? head.split(':') : [];
    const b = tail ? tail.split(':') : [];
    const groups = address.includes('::') ? [...a, ...Array(8 - a.length - b.length).fill('0'), ...b] : a;
    const out = Buffer.alloc(17);
    out[0] = 0x04;
    groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 1 + i * 2));
    return out;
  }
  const name = Buffer.from(address);
  if (name.length > 255) throw proxyError('host name too long for SOCKS5', 'EINVAL');
  return Buffer.concat([Buffer.from([0x03, name.length]), name]);
}

/**
 * Reads exact byte counts off a socket during a handshake (both sides of SOCKS5: our client
 * towards an egress proxy, and the egress relay's server side), then hands the socket back.
 */
export class ExactReader {
  private buf: Buffer = Buffer.alloc(0);
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.serve();
  };
  private readonly onEnd = (e?: Error) => {
    this.failure = e ?? proxyError(this.closedMessage, 'ECONNRESET');
    this.serve();
  };

  constructor(
    private readonly socket: Socket,
    private readonly closedMessage = 'the proxy closed the connection during the handshake',
  ) {
    socket.on('data', this.onData);
    socket.on('error', this.onEnd);
    socket.on('close', this.onEnd);
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.serve();
    });
  }

  /**
   * Stops listening; returns bytes read past the handshake (they belong to the tunnel). By default
   * the socket stays flowing: nothing arrives before our side speaks first (TLS ClientHello or the
   * HTTP upgrade), and whoever takes the socket attaches its own listeners before that. `pause`
   * holds data back until the new owner reads (the relay, whose peer may speak at any time).
   */
  detach(pause = false): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onEnd);
    this.socket.off('close', this.onEnd);
    if (pause) this.socket.pause();
    return this.buf;
  }

  private serve(): void {
    const w = this.want;
    if (!w) return;
    if (this.buf.length >= w.n) {
      this.want = null;
      const out = this.buf.subarray(0, w.n);
      this.buf = this.buf.subarray(w.n);
      w.resolve(out);
    } else if (this.failure) {
      this.want = null;
      w.reject(this.failure);
    }
  }
}
