import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { catalogue } from '../../config/catalogue.js';
import { errors } from '../../errors.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';
import { PROVIDER_NAMES } from '../../core/models.js';
import type { ClientKey } from '../../store/keys.js';

const limit = z.number().int().min(1).max(10_000_000).nullable();
const fields = {
  name: z.string().trim().min(1).max(100),
  enabled: z.boolean(),
  expires_at: z.iso.datetime({ offset: true }).nullable(),
  models: z.array(z.string().min(1)).min(1).max(200).nullable(),
  rpm: limit,
  rpd: limit,
  tags: z.array(z.string().min(1).max(64)).max(32),
  /** Providers whose credentials may serve the key; null = every provider. */
  providers: z.array(z.enum(PROVIDER_NAMES)).min(1).max(PROVIDER_NAMES.length).nullable(),
};
const createSchema = z
  .object({
    ...fields,
    enabled: fields.enabled.optional(),
    expires_at: fields.expires_at.optional(),
    models: fields.models.optional(),
    rpm: limit.optional(),
    rpd: limit.optional(),
    tags: fields.tags.optional(),
    providers: fields.providers.optional(),
  })
  .strict();
const patchSchema = z.object(fields).partial().strict();

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The admin view of a key: everything but the hash. The secret is only in the create answer. */
function view(k: ClientKey, now = Date.now()) {
  return {
    id: k.id,
    name: k.name,
    key_hint: k.hint,
    enabled: k.enabled,
    expired: k.expiresAt !== null && k.expiresAt <= now,
    created_at: iso(k.createdAt),
    last_used_at: iso(k.lastUsedAt),
    expires_at: iso(k.expiresAt),
    models: k.models,
    rpm: k.rpm,
    rpd: k.rpd,
    tags: k.tags,
    providers: k.providers,
  };
}

/** Client keys (docs/api-contract.md §8.2): list, create (secret shown once), update limits, revoke. */
export function registerKeyRoutes(app: FastifyInstance, services: Services): void {
  const { keys } = services;
  const checkModels = (models: string[] | null | undefined) => {
    if (!models) return;
    const known = catalogue(services.config());
    const unknown = models.find((m) => !known.get(m));
    if (unknown) throw errors.invalidValue('models', `Unknown model '${unknown}' in 'models'. GET /v1/models lists the model ids.`);
  };
  const expiry = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : Date.parse(v));

  app.get('/admin/api/keys', async () => ({ keys: (await keys.list()).sort((a, b) => a.createdAt - b.createdAt).map((k) => view(k)) }));

  app.post('/admin/api/keys', async (req) => {
    const body = parseBody(createSchema, req.body);
    checkModels(body.models);
    const secret = `sk-g2a-${randomBytes(24).toString('base64url')}`;
    const created = await keys.create({
      name: body.name,
      hash: createHash('sha256').update(secret).digest('hex'),
      hint: `${secret.slice(0, 9)}…${secret.slice(-4)}`,
      enabled: body.enabled ?? true,
      expiresAt: expiry(body.expires_at) ?? null,
      models: body.models ?? null,
      rpm: body.rpm ?? null,
      rpd: body.rpd ?? null,
      tags: body.tags ?? [],
      providers: body.providers ? [...new Set(body.providers)] : null,
    });
    req.log.info({ key: created.id, name: created.name }, 'client key created');
    return { ...view(created), key: secret };
  });

  app.patch<{ Params: { id: string } }>('/admin/api/keys/:id', async (req) => {
    const body = parseBody(patchSchema, req.body);
    checkModels(body.models);
    const updated = await keys.update(req.params.id, {
      name: body.name,
      enabled: body.enabled,
      expiresAt: expiry(body.expires_at),
      models: body.models,
      rpm: body.rpm,
      rpd: body.rpd,
      tags: body.tags,
      providers: body.providers === undefined || body.providers === null ? body.providers : [...new Set(body.providers)],
    });
    if (!updated) throw errors.notFound(`No client key with id '${req.params.id}'. GET /admin/api/keys lists them.`);
    return view(updated);
  });

  app.delete<{ Params: { id: string } }>('/admin/api/keys/:id', async (req) => {
    if (!(await keys.revoke(req.params.id))) throw errors.notFound(`No client key with id '${req.params.id}'. GET /admin/api/keys lists them.`);
    req.log.info({ key: req.params.id }, 'client key revoked');
    return { id: req.params.id, revoked: true };
  });
}
