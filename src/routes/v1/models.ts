import type { FastifyInstance } from 'fastify';
import { catalogue } from '../../config/catalogue.js';
import type { ModelSpec } from '../../core/models.js';
import { errors } from '../../errors.js';
import type { Services } from '../../services.js';

const toModel = (m: ModelSpec) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy });

/** GET /models and /models/{id}: the catalogue from config, in the OpenAI list/object shape. */
export function registerModelRoutes(app: FastifyInstance, services: Services): void {
  app.get('/models', async () => ({ object: 'list', data: [...catalogue(services.config()).values()].map(toModel) }));
  app.get<{ Params: { id: string } }>('/models/*', async (req) => {
    const id = (req.params as Record<string, string>)['*'] ?? '';
    const m = catalogue(services.config()).get(id);
    if (!m) throw errors.modelNotFound(id);
    return toModel(m);
  });
}
