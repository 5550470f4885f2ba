/**
 * A TCP relay on 127.0.0.1 in front of a real server, for outage tests: `hang()` makes it a
 * database that accepts connections and never answers (a stuck server or a dead network path),
 * `down()` one that refuses everything, `up()` heals it. Only ever relays to the given local port.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  hang(): void;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'up' | 'hang' | 'down' = 'up';
  const pairs = new Set<[Socket, Socket | null]>();
  const server: Server = createServer((client) => {
    client.on('error', () => {});
    if (mode === 'down') return void client.destroy();
    const pair: [Socket, Socket | null] = [client, null];
    pairs.add(pair);
    client.on('close', () => {
      pair[1]?.destroy();
      pairs.delete(pair);
    });
    // A hung server accepts the connection and then says nothing.
    if (mode === 'hang') return;
    const upstream = connect(targetPort, targetHost);
    pair[1] = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (d) => mode === 'up' && upstream.write(d));
    upstream.on('data', (d) => mode === 'up' && client.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const proxy: TcpProxy = {
    port,
    hang: () => void (mode = 'hang'),
    down() {
      mode = 'down';
      for (const [a, b] of pairs) {
        a.destroy();
        b?.destroy();
      }
      pairs.clear();
    },
    up() {
      // Connections that saw a hang have lost bytes: they are dropped, the clients reconnect.
      if (mode === 'hang') proxy.down();
      mode = 'up';
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b?.destroy();
        }
        server.close(() => resolve());
      }),
  };
  return proxy;
}
