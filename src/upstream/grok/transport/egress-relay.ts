import { randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import type { Egress, EgressPool } from './egress-pool.js';
import { ExactReader, openTunnel } from './proxy-tunnel.js';

/**
 * A SOCKS5 relay on the loopback interface that every wreq connection goes through. The TLS
 * session stays end to end between wreq and grok.com (the relay only copies bytes), so the Chrome
 * fingerprint is untouched; what the relay adds is control Node otherwise lacks over a native
 * client:
 * - a **kill switch**: wreq-js 3.1.0 neither stops a response body on abort nor closes the
 *   connection on `transport.close()` (measured: the upstream kept streaming for its whole
 *   length; docs/upstream-identity.md §3). Each lane's sockets are destroyed here instead, and
 *   grok.com sees the connection close within a millisecond or two;
 * - the **egress** per account (direct, HTTP CONNECT or SOCKS5 upstream proxy, with failover to
 *   another egress when the chosen one cannot connect), and byte counts per egress.
 * Only the subset of RFC 1928/1929 wreq uses is spoken: user/password authentication (the lane id
 * and a per-process secret, so no other local process can use the relay as an open proxy) and
 * CONNECT to a host name or address.
 */

export interface Lane {
  readonly id: string;
  /** The account's token, for the egress choice and `{account}` in proxy user names. */
  readonly account: string | undefined;
  egress: Egress;
  readonly sockets: Set<Socket>;
  killed: boolean;
}

export class EgressRelay {
  private server: Server | undefined;
  private port = 0;
  private readonly secret = randomBytes(18).toString('base64url');
  private readonly lanes = new Map<string, Lane>();
  private seq = 0;

  constructor(
    private readonly pool: EgressPool,
    private readonly connectTimeoutMs: () => number,
  ) {}

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer({ noDelay: true }, (c) => this.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: under node:cluster a shared handle would hand a worker's connections to
      // another worker's relay, which does not know the lane.
      server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve());
    });
    server.unref();
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** A new lane bound to the account's egress; its proxy URL is what wreq dials through. */
  open(account: string | undefined): { lane: Lane; proxyUrl: string } {
    const id = `l${(++this.seq).toString(36)}`;
    const lane: Lane = { id, account, egress: this.pool.pick(account), sockets: new Set(), killed: false };
    this.lanes.set(id, lane);
    return { lane, proxyUrl: `socks5h://${id}:${this.secret}@127.0.0.1:${this.port}` };
  }

  /** Cuts every connection of the lane at once; the lane stays usable for new connections. */
  cut(lane: Lane): void {
    for (const s of lane.sockets) s.destroy();
    lane.sockets.clear();
  }

  /** Cuts every connection of the lane and refuses new ones. */
  kill(lane: Lane): void {
    lane.killed = true;
    this.lanes.delete(lane.id);
    this.cut(lane);
  }

  async close(): Promise<void> {
    for (const lane of [...this.lanes.values()]) this.kill(lane);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => client.destroy());
    const timer = setTimeout(() => client.destroy(), this.connectTimeoutMs());
    void handshake(client, (user, pass) => this.authorise(user, pass))
      .then(async ({ lane, host, port, rest }) => {
        const upstream = await this.dial(lane, host, port);
        clearTimeout(timer);
        if (lane.killed || client.destroyed) {
          upstream.destroy();
          client.destroy();
          return;
        }
        this.splice(lane, client, upstream, rest);
      })
      .catch(() => {
        clearTimeout(timer);
        client.destroy();
      });
  }

  private authorise(user: string, pass: string): Lane | undefined {
    const a = Buffer.from(pass);
    const b = Buffer.from(this.secret);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    const lane = this.lanes.get(user);
    return lane && !lane.killed ? lane : undefined;
  }

  /**
   * Connects through the account's egress as the pool sees it now (so changed egress settings
   * apply to the next connection of a long-lived client), then through each other healthy egress
   * until one works.
   */
  private async dial(lane: Lane, host: string, port: number): Promise<Socket> {
    const chosen = this.pool.pick(lane.account);
    const tried = [chosen, ...this.pool.alternatives(chosen)];
    let last: Error | undefined;
    for (const egress of tried) {
      try {
        const proxy = this.pool.proxyFor(egress, lane.account);
        const socket = proxy ? await openTunnel(proxy, host, port, this.connectTimeoutMs()) : await direct(host, port, this.connectTimeoutMs());
        this.pool.succeeded(egress);
        lane.egress = egress;
        return socket;
      } catch (e) {
        last = e as Error;
        this.pool.failed(egress, (e as Error).message);
      }
    }
    throw last ?? new Error('no egress');
  }

  private splice(lane: Lane, client: Socket, upstream: Socket, rest: Buffer): void {
    const egress = lane.egress;
    egress.openConnections++;
    lane.sockets.add(client);
    lane.sockets.add(upstream);
    upstream.setNoDelay(true);
    // SOCKS5 success reply; the bound address is of no use to wreq.
    client.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
    if (rest.length) upstream.write(rest);
    client.pipe(upstream);
    upstream.pipe(client);
    let closed = false;
    const done = () => {
      if (closed) return;
      closed = true;
      egress.openConnections--;
      egress.bytesIn += upstream.bytesRead;
      egress.bytesOut += upstream.bytesWritten;
      lane.sockets.delete(client);
      lane.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', done);
    upstream.on('close', done);
    upstream.on('error', done);
  }
}

function direct(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port, noDelay: true });
    const timer = setTimeout(() => s.destroy(Object.assign(new Error(`connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

interface Request {
  lane: Lane;
  host: string;
  port: number;
  /** Bytes the client sent after the CONNECT request (normally none). */
  rest: Buffer;
}

/** The server side of the SOCKS5 greeting, authentication and CONNECT. */
async function handshake(client: Socket, authorise: (user: string, pass: string) => Lane | undefined): Promise<Request> {
  const reader = new ExactReader(client, 'closed during the SOCKS handshake');
  const [ver, n] = await reader.read(2);
  if (ver !== 0x05) throw new Error('not SOCKS5');
  const methods = await reader.read(n!);
  if (!methods.includes(0x02)) {
    client.end(Buffer.from([0x05, 0xff]));
    throw new Error('no user/password method');
  }
  client.write(Buffer.from([0x05, 0x02]));
  const [, ulen] = await reader.read(2);
  const user = (await reader.read(ulen!)).toString();
  const [plen] = await reader.read(1);
  const pass = (await reader.read(plen!)).toString();
  const lane = authorise(user, pass);
  if (!lane) {
    client.end(Buffer.from([0x01, 0x01]));
    throw new Error('refused');
  }
  client.write(Buffer.from([0x01, 0x00]));
  const [, cmd, , atyp] = await reader.read(4);
  let host: string;
  if (atyp === 0x01) host = [...(await reader.read(4))].join('.');
  else if (atyp === 0x03) host = (await reader.read((await reader.read(1))[0]!)).toString();
  else if (atyp === 0x04) host = ((await reader.read(16)).toString('hex').match(/.{4}/g) ?? []).join(':');
  else throw new Error('bad address type');
  const port = (await reader.read(2)).readUInt16BE(0);
  if (cmd !== 0x01) {
    client.end(Buffer.from([0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
    throw new Error('only CONNECT');
  }
  return { lane, host, port, rest: reader.detach(true) };
}
