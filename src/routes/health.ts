import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

/** GET /health (process alive) and GET /ready (store answers and at least one account is usable). */
export function registerHealthRoutes(app: FastifyInstance, services: Services): void {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    const storeOk = await services.store.ping().catch(() => false);
    const now = Date.now();
    const usable = storeOk
      ? (await services.store.listAccounts()).filter((a) => a.status === 'active' || (a.status === 'cooling' && (a.coolingUntil ?? 0) <= now)).length
      : 0;
    const ready = storeOk && usable > 0;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', store: storeOk, usable_accounts: usable });
  });
}
