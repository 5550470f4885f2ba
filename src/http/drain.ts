import type { Server } from 'node:http';

/**
 * Graceful close for a node HTTP server: stop accepting, let running requests (streams) finish,
 * and drop connections that carry no request as soon as none is running. `server.close()` alone
 * waits for keep-alive sockets that never sent a request (node does not count them as idle), which
 * a client may hold for the whole keep-alive timeout.
 */
export function drainOnClose(server: Server): { close(graceMs: number): Promise<void> } {
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
        const grace = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearInterval(check);
          clearTimeout(grace);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
