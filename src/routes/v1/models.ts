import type { FastifyInstance, FastifyRequest } from 'fastify';
import { catalogue } from '../../config/catalogue.js';
import type { ModelSpec } from '../../core/models.js';
import { errors } from '../../errors.js';
import { clientKeyOf } from '../../http/auth.js';
import type { Services } from '../../services.js';

const toModel = (m: ModelSpec) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy });

/**
 * GET /models and /models/{id}: the catalogue from config, in the OpenAI list/object shape. A
 * client key limited to some models sees only those, and a model outside its list is "not found",
 * as OpenAI answers for a model the key has no access to.
 */
export function registerModelRoutes(app: FastifyInstance, services: Services): void {
  const visible = (req: FastifyRequest): ModelSpec[] => {
    const allowed = clientKeyOf(req)?.models;
    const all = [...catalogue(services.config()).values()];
    return allowed ? all.filter((m) => allowed.includes(m.id)) : all;
  };
  app.get('/models', async (req) => ({ object: 'list', data: visible(req).map(toModel) }));
  app.get<{ Params: { id: string } }>('/models/*', async (req) => {
    const id = (req.params as Record<string, string>)['*'] ?? '';
    const m = visible(req).find((spec) => spec.id === id);
    if (!m) throw errors.modelNotFound(id);
    return toModel(m);
  });
}
