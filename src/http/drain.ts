import type { Server } from 'node:http';

/**
 * Graceful close for a node HTTP server: stop accepting, let running requests (streams) finish,
 * and drop connections that carry no request as soon as none is running. `server.close()` alone
 * waits for keep-alive sockets that never sent a request (node does not count them as idle), which
 * a client may hold for the whole keep-alive timeout.
 *
 * When the grace period runs out, `onGraceEnd` tells running streams to end in-band (an error
 * event the client can act on, rather than a cut socket); they get `flushMs` to write it before
 * the connections are closed anyway (a client that reads nothing cannot hold the exit).
 */
export function drainOnClose(server: Server, onGraceEnd: () => void = () => {}, flushMs = 1000): { close(graceMs: number): Promise<void> } {
  let active = 0;
  server.on('request', (_req, res) => {
    active++;
    res.once('close', () => active--);
  });
  return {
    close(graceMs) {
      return new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (active === 0) server.closeAllConnections();
        }, 50);
        let flush: NodeJS.Timeout | undefined;
        const grace = setTimeout(() => {
          onGraceEnd();
          flush = setTimeout(() => server.closeAllConnections(), flushMs);
        }, graceMs);
        server.close(() => {
          clearInterval(check);
          clearTimeout(grace);
          clearTimeout(flush);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
