import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';

const idsSchema = z.object({ ids: z.array(z.string().min(1)).max(10_000).optional() });

/** Optional JSON body (these routes accept an empty POST meaning "all accounts"). */
function ids(body: unknown): string[] | undefined {
  if (body === undefined || body === null || body === '') return undefined;
  return parseBody(idsSchema, body).ids;
}

/** Settings, quota refresh and NSFW enablement (docs/api-contract.md §8.1, §8.3). Behind the admin guard. */
export function registerPoolAdminRoutes(app: FastifyInstance, services: Services): void {
  app.get('/admin/api/settings', async () => services.settings.view());

  app.put('/admin/api/settings', async (req) => {
    const body = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw errors.invalidJson('the body must be a JSON object of settings sections');
    return services.settings.update(body as Record<string, unknown>);
  });

  app.post('/admin/api/tokens/refresh', async (req) => {
    const results = await services.quotaSync.syncMany(ids(req.body));
    return { results, synced: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length };
  });

  app.post('/admin/api/tokens/nsfw', async (req) => {
    const results = await services.accountSetup.enableNsfw(ids(req.body));
    return { results, enabled: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length };
  });
}
