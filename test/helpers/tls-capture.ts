import { Agent, createServer as createHttp1Server, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { getExtensionData, isGREASE, trackClientHellos } from 'read-tls-client-hello';
import { h2FrameReader, type H2Preface } from './h2-frames.js';
import { makeTestCertificate } from './test-certificate.js';

/**
 * A local HTTPS server on `https://localhost:<port>` that records how a client connects — the TLS
 * ClientHello (JA4, ALPN, extension order, GREASE), for HTTP/2 the preface and each HEADERS frame
 * (h2-frames.ts), for HTTP/1.1 and WebSocket upgrades the raw header order — and then forwards
 * every request and upgrade to `backend` (the fake grok.com's http:// URL), so a real chat turn or
 * image round completes through it. The certificate is made at start (test-certificate.ts);
 * clients must trust `caFile` and dial the name `localhost`, so the ClientHello carries SNI.
 */

export interface TlsConnection {
  id: number;
  /** Server name indication; null when the client sent none (an IP literal). */
  sni: string | null;
  /** ALPN protocols offered, in order; null when the extension is absent. */
  alpnOffered: string[] | null;
  /** Protocol agreed (`h2`, `http/1.1`), false without ALPN. */
  alpn: string | false;
  ja4: string;
  /** Extension ids in ClientHello order, GREASE values as `G`. */
  extensions: string[];
  /** A GREASE value among the cipher suites or extensions. */
  grease: boolean;
  /** HTTP/2 connections: the preface and every request's HEADERS frame. */
  h2: H2Preface | null;
  /** HTTP/1.1 requests (not upgrades): path and header names as sent. */
  http1: { method: string; path: string; names: string[] }[];
  /** A WebSocket upgrade: path and header names as sent (original case). */
  upgrade: { path: string; names: string[] } | null;
}

export interface TlsCapture {
  /** `https://localhost:<port>`. */
  url: string;
  port: number;
  /** The CA that signed the server certificate, for `grok.ca_file`. */
  caFile: string;
  /** Every connection so far, oldest first (completed handshakes only). */
  connections: TlsConnection[];
  /** The connections from index `since` on that carried a request or upgrade for `path` (query ignored). */
  carrying(path: string, since?: number): TlsConnection[];
  close(): Promise<void>;
}

/** Response headers that belong to one hop (and that HTTP/2 forbids). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

export async function startTlsCapture(opts: { backend: string }): Promise<TlsCapture> {
  const certificate = makeTestCertificate();
  const connections: TlsConnection[] = [];
  const sockets = new Set<Socket | TLSSocket>();
  const backend = new URL(opts.backend);
  const agent = new Agent({ keepAlive: false });
  const byTlsSocket = new WeakMap<object, TlsConnection>();

  const answer = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!name.startsWith(':') && !HOP_BY_HOP.has(name)) headers[name] = value;
    headers.host = (req as Http2ServerRequest).authority ?? req.headers.host;
    const up = httpRequest({ host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers, agent }, (upRes) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(upRes.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res as NodeJS.WritableStream);
    });
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const http1 = createHttp1Server((req, res) => {
    byTlsSocket.get(req.socket)?.http1.push({ method: req.method ?? '', path: req.url ?? '', names: namesOf(req.rawHeaders) });
    answer(req, res);
  });
  http1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const conn = byTlsSocket.get(socket);
    if (conn) conn.upgrade = { path: req.url ?? '', names: namesOf(req.rawHeaders) };
    // The upgrade request written out again as received (names, order, values), so the backend's
    // own WebSocket server answers the handshake.
    const up = netConnect({ host: backend.hostname, port: Number(backend.port) }, () => {
      let requestHead = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) requestHead += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(requestHead + '\r\n');
      if (head.length) up.write(head);
      socket.pipe(up);
      up.pipe(socket);
    });
    sockets.add(up);
    up.on('close', () => {
      sockets.delete(up);
      socket.destroy();
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
    socket.on('error', () => up.destroy());
  });
  const http2 = createHttp2Server();
  http2.on('request', answer);
  http2.on('sessionError', () => {});

  const onSecure = (tlsSocket: TLSSocket) => {
    sockets.add(tlsSocket);
    tlsSocket.on('close', () => sockets.delete(tlsSocket));
    tlsSocket.on('error', () => tlsSocket.destroy());
    tlsSocket.setNoDelay(true);
    const hello = tlsSocket.tlsClientHello!;
    const conn: TlsConnection = {
      id: connections.length + 1,
      sni: getExtensionData(hello, 0x0000)?.serverName ?? null,
      alpnOffered: getExtensionData(hello, 0x0010)?.protocols ?? null,
      alpn: tlsSocket.alpnProtocol ?? false,
      ja4: hello.ja4,
      extensions: hello.extensions.map((e) => (isGREASE(e.id) ? 'G' : String(e.id))),
      grease: hello.extensions.some((e) => isGREASE(e.id)) || hello.cipherSuites.some(isGREASE),
      h2: null,
      http1: [],
      upgrade: null,
    };
    connections.push(conn);
    if (tlsSocket.alpnProtocol === 'h2') {
      const reader = h2FrameReader();
      conn.h2 = reader.preface;
      http2.emit('connection', new TeeSocket(tlsSocket, reader.feed));
    } else {
      byTlsSocket.set(tlsSocket, conn);
      http1.emit('connection', tlsSocket);
    }
  };

  const servers: TlsServer[] = [];
  const listen = (host: string, port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = trackClientHellos(createTlsServer({ key: certificate.key, cert: certificate.cert, ALPNProtocols: ['h2', 'http/1.1'] }));
      server.on('secureConnection', onSecure);
      server.once('error', reject);
      server.listen(port, host, () => {
        servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const port = await listen('127.0.0.1', 0);
  // `localhost` may resolve to ::1 first; the same port there when the host has IPv6 loopback.
  await listen('::1', port).catch(() => {});

  return {
    url: `https://localhost:${port}`,
    port,
    caFile: certificate.caFile,
    connections,
    carrying(path, since = 0) {
      const bare = (p: string) => p.split('?', 1)[0];
      return connections.slice(since).filter(
        (c) =>
          (c.upgrade !== null && bare(c.upgrade.path) === path) ||
          c.http1.some((r) => bare(r.path) === path) ||
          (c.h2?.requests ?? []).some((r) => r.headers.some(([n, v]) => n === ':path' && bare(v) === path)),
      );
    },
    async close() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      certificate.remove();
    },
  };
}

/** Header names of a raw header list, as sent. */
function namesOf(rawHeaders: string[]): string[] {
  return rawHeaders.filter((_, i) => i % 2 === 0);
}

/**
 * The decrypted TLS stream, handed to Node's HTTP/2 server while every byte the client sent is
 * also given to `copy`. (Node's http2 reads a TLS socket through its native handle, not through
 * `data` events; given this Duplex instead, it reads every byte through JavaScript, past the copy.)
 */
class TeeSocket extends Duplex {
  constructor(
    private readonly inner: TLSSocket,
    copy: (chunk: Buffer) => void,
  ) {
    super();
    inner.on('data', (chunk: Buffer) => {
      copy(chunk);
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('close', () => this.destroy());
    inner.on('error', (e) => this.destroy(e));
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (e?: Error | null) => void): void {
    this.inner.write(chunk, done);
  }

  override _final(done: () => void): void {
    this.inner.end();
    done();
  }

  override _destroy(err: Error | null, done: (e: Error | null) => void): void {
    this.inner.destroy();
    done(err);
  }

  // Called by http2 on the sockets it is given; the TLS socket underneath already has no delay.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }
}
