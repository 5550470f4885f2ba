import type { FastifyInstance, FastifyRequest } from 'fastify';
import { catalogue } from '../../config/catalogue.js';
import type { ModelSpec } from '../../core/models.js';
import { errors } from '../../errors.js';
import { clientKeyOf } from '../../http/auth.js';
import type { Services } from '../../services.js';
import { kindOf } from '../../store/types.js';

/**
 * The OpenAI model object, plus `alias_of` on another name of a catalogue model and `aliases` on a
 * model that has some (OpenAI's own list has no such field; SDKs keep unknown fields).
 */
function toModel(m: ModelSpec, aliases: ReadonlyMap<string, string[]>) {
  const out: Record<string, unknown> = { id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy };
  if (m.aliasOf) out.alias_of = m.aliasOf;
  const names = aliases.get(m.id);
  if (names?.length) out.aliases = names;
  return out;
}

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
  /** Alias ids by the model they name, among the models the caller may see. */
  const aliasesOf = (models: ModelSpec[]) => {
    const out = new Map<string, string[]>();
    for (const m of models) if (m.aliasOf) out.set(m.aliasOf, [...(out.get(m.aliasOf) ?? []), m.id]);
    return out;
  };
  /**
   * The models other providers list for themselves (the xAI API's `GET /models`), as
   * `<provider>/<id>`, read with one of the pool's active credentials of that provider.
   */
  const listed = async (req: FastifyRequest) => {
    const allowed = clientKeyOf(req)?.models;
    const accounts = await services.store.listAccounts();
    const out: Record<string, unknown>[] = [];
    for (const p of services.providers.all()) {
      if (!p.listModels) continue;
      const key = accounts.find((a) => kindOf(a) === p.name && a.status === 'active')?.token ?? null;
      for (const m of await p.listModels(key)) {
        const id = `${p.name}/${m.id}`;
        if (!allowed || allowed.includes(id)) out.push({ id, object: 'model', created: m.created, owned_by: m.ownedBy });
      }
    }
    return out;
  };
  app.get('/models', async (req) => {
    const models = visible(req);
    const aliases = aliasesOf(models);
    return { object: 'list', data: [...models.map((m) => toModel(m, aliases)), ...(await listed(req))] };
  });
  app.get<{ Params: { id: string } }>('/models/*', async (req) => {
    const id = (req.params as Record<string, string>)['*'] ?? '';
    const models = visible(req);
    const m = models.find((spec) => spec.id === id);
    if (m) return toModel(m, aliasesOf(models));
    const other = id.includes('/') ? (await listed(req)).find((x) => x.id === id) : undefined;
    if (!other) throw errors.modelNotFound(id);
    return other;
  });
}
