import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errors } from '../../errors.js';
import { parseBody } from '../../http/validate.js';
import { normalizeToken } from '../../lib/account-id.js';
import type { Services } from '../../services.js';
import { kindOf, type Account, type ImportItem } from '../../store/types.js';

const tier = z.enum(['basic', 'super', 'heavy']);
const importSchema = z.object({
  tokens: z.union([z.string(), z.array(z.string())]),
  /** `grok` (default): grok.com SSO cookies; `xai`: official xAI API keys. */
  kind: z.enum(['grok', 'xai']).default('grok'),
  tier: tier.optional(),
  tags: z.array(z.string().min(1).max(64)).max(32).optional(),
});
const patchSchema = z.object({
  status: z.enum(['active', 'disabled']).optional(),
  tags: z.array(z.string().min(1).max(64)).max(32).optional(),
  note: z.string().max(2000).optional(),
  tier: tier.optional(),
});
const deleteSchema = z.object({ ids: z.array(z.string()).min(1) });

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Tokens are shown as first 6 + "…" + last 4, never whole. */
export function maskToken(token: string): string {
  return token.length <= 12 ? `${token.slice(0, 2)}…` : `${token.slice(0, 6)}…${token.slice(-4)}`;
}

/** The admin view of an account (API.md §4.10). A cooling account whose time has passed shows as active. */
function view(a: Account, now: number) {
  const cooling = a.status === 'cooling' && a.coolingUntil !== null && a.coolingUntil > now;
  return {
    id: a.id,
    kind: kindOf(a),
    token: maskToken(a.token),
    tier: a.tier,
    status: a.status === 'cooling' && !cooling ? 'active' : a.status,
    cooling_until: cooling ? iso(a.coolingUntil) : null,
    quotas: Object.fromEntries(
      Object.entries(a.quotas).map(([mode, q]) => [mode, { remaining: q.remaining, total: q.total, window_seconds: q.windowSeconds, reset_at: iso(q.resetAt) }]),
    ),
    tags: a.tags,
    note: a.note,
    in_flight: a.inFlight,
    use_count: a.useCount,
    fail_count: a.failCount,
    // Answers retried elsewhere because they came cut off, empty or without the mode's reasoning.
    degraded: { incomplete: a.degraded.incomplete ?? 0, empty: a.degraded.empty ?? 0, no_reasoning: a.degraded.no_reasoning ?? 0 },
    last_used_at: iso(a.lastUsedAt),
    last_error: a.lastError,
    created_at: iso(a.createdAt),
  };
}

/** The account routes of the admin API. Every route here sits behind the admin guard. */
export function registerTokenRoutes(app: FastifyInstance, services: Services): void {
  const { store } = services;

  app.get<{ Querystring: { status?: string; tier?: string; tag?: string; kind?: string } }>('/admin/api/tokens', async (req) => {
    const { status, tier: t, tag, kind } = req.query;
    const now = Date.now();
    const tokens = (await store.listAccounts())
      .map((a) => view(a, now))
      .filter((a) => (!status || a.status === status) && (!t || a.tier === t) && (!tag || a.tags.includes(tag)) && (!kind || a.kind === kind));
    return { tokens };
  });

  app.post('/admin/api/tokens', async (req) => {
    const body = parseBody(importSchema, req.body);
    const raw = (Array.isArray(body.tokens) ? body.tokens : [body.tokens]).flatMap((s) => s.split(/[\n,]+/));
    const lines = raw.map((s) => s.trim()).filter(Boolean);
    const items: ImportItem[] = [];
    let invalid = 0;
    for (const line of lines) {
      // An xAI key is used as it is; a grok.com token may come as a cookie string.
      const token = body.kind === 'xai' ? (/^\S+$/.test(line) ? line : null) : normalizeToken(line);
      if (token) items.push({ token, kind: body.kind, tier: body.tier, tags: body.tags });
      else invalid++;
    }
    const { added, skipped } = await store.importAccounts(items);
    req.log.info({ added: added.length, skipped, invalid }, 'accounts imported');
    // Quotas and the real tier come from grok.com; in the background, so the import answers at once.
    if (added.length > 0 && body.kind === 'grok' && services.config().token.sync_on_import) void services.quotaSync.syncMany(added.map((a) => a.id));
    return { added: added.length, skipped, invalid, ids: added.map((a) => a.id) };
  });

  app.patch<{ Params: { id: string } }>('/admin/api/tokens/:id', async (req) => {
    const patch = parseBody(patchSchema, req.body);
    const updated = await store.updateAccount(req.params.id, patch);
    if (!updated) throw errors.notFound(`No account with id '${req.params.id}'. GET /admin/api/tokens lists them.`);
    return view(updated, Date.now());
  });

  app.delete('/admin/api/tokens', async (req) => {
    const { ids } = parseBody(deleteSchema, req.body);
    return { deleted: await store.deleteAccounts(ids) };
  });
}
