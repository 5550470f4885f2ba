import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, errors } from '../../errors.js';
import { parseBody } from '../../http/validate.js';
import { accountIdFor, normalizeToken } from '../../lib/account-id.js';
import type { Services } from '../../services.js';
import { matchesStatusFilter } from '../../store/account-rules.js';
import { kindOf, STATUS_FILTERS, type Account, type ImportItem, type StatusFilter } from '../../store/types.js';

const tier = z.enum(['basic', 'super', 'heavy']);
const tagList = z.array(z.string().min(1).max(64)).max(32);
/** One account of an export (GET /admin/api/tokens/export); fields the import does not use are ignored. */
const importedAccount = z.object({
  token: z.string().min(1),
  kind: z.enum(['grok', 'xai']).optional(),
  tier: tier.optional(),
  tags: tagList.optional(),
  note: z.string().max(2000).optional(),
  /** Only `disabled` is carried over (the operator's choice); every other state is the pool's to find out. */
  status: z.string().optional(),
});
const importSchema = z
  .object({
    tokens: z.union([z.string(), z.array(z.string())]).optional(),
    /** The `accounts` of an export, so an export file can be posted back as it is. */
    accounts: z.array(importedAccount).max(100_000).optional(),
    /** `grok` (default): grok.com SSO cookies; `xai`: official xAI API keys. */
    kind: z.enum(['grok', 'xai']).default('grok'),
    tier: tier.optional(),
    tags: tagList.optional(),
  })
  .refine((b) => b.tokens !== undefined || b.accounts !== undefined, { path: ['tokens'], message: 'send `tokens` (a string or an array) or `accounts` (the accounts of an export)' });
const patchSchema = z.object({
  status: z.enum(['active', 'disabled']).optional(),
  tags: z.array(z.string().min(1).max(64)).max(32).optional(),
  note: z.string().max(2000).optional(),
  tier: tier.optional(),
});
const deleteSchema = z.object({ ids: z.array(z.string()).min(1) });
const statusFilter = z.enum(STATUS_FILTERS as [StatusFilter, ...StatusFilter[]]);
const deleteByStatusSchema = z.object({
  status: z.union([statusFilter, z.array(statusFilter).min(1)]),
  /** Only count and list what would be deleted. */
  dry_run: z.boolean().optional(),
  /** Must be true to delete (a guard against a stray call wiping the pool). */
  confirm: z.boolean().optional(),
});

/** A masked token (as the list and a secret-less export show it) is not a token: never import one. */
const MASK = '…';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Tokens are shown as first 6 + "…" + last 4, never whole. */
export function maskToken(token: string): string {
  return token.length <= 12 ? `${token.slice(0, 2)}…` : `${token.slice(0, 6)}…${token.slice(-4)}`;
}

/** The admin view of an account (docs/api-contract.md §8.1). A cooling account whose time has passed shows as active. */
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
    last_error_at: iso(a.lastErrorAt ?? null),
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
    const entries: { line: string; kind: 'grok' | 'xai'; tier?: Account['tier']; tags?: string[]; note?: string; disabled?: boolean }[] = [];
    if (body.tokens !== undefined) {
      const raw = (Array.isArray(body.tokens) ? body.tokens : [body.tokens]).flatMap((s) => s.split(/[\n,]+/));
      for (const line of raw.map((s) => s.trim()).filter(Boolean)) entries.push({ line, kind: body.kind, tier: body.tier, tags: body.tags });
    }
    for (const a of body.accounts ?? []) {
      entries.push({ line: a.token.trim(), kind: a.kind ?? body.kind, tier: a.tier ?? body.tier, tags: a.tags ?? body.tags, note: a.note, disabled: a.status === 'disabled' });
    }
    const items: ImportItem[] = [];
    const extras = new Map<string, { note?: string; disabled?: boolean }>();
    let invalid = 0;
    let masked = 0;
    for (const e of entries) {
      if (e.line.includes(MASK)) {
        masked++;
        continue;
      }
      // An xAI key is used as it is; a grok.com token may come as a cookie string.
      const token = e.kind === 'xai' ? (/^\S+$/.test(e.line) ? e.line : null) : normalizeToken(e.line);
      if (!token) {
        invalid++;
        continue;
      }
      items.push({ token, kind: e.kind, tier: e.tier, tags: e.tags });
      if (e.note !== undefined || e.disabled) extras.set(accountIdFor(token), { note: e.note, disabled: e.disabled });
    }
    const { added, skipped } = await store.importAccounts(items);
    // What an export carries beyond token, kind, tier and tags: the note, and a disabled account stays disabled.
    for (const a of added) {
      const extra = extras.get(a.id);
      if (extra) await store.updateAccount(a.id, { ...(extra.note ? { note: extra.note } : {}), ...(extra.disabled ? { status: 'disabled' as const } : {}) });
    }
    req.log.info({ added: added.length, skipped, invalid: invalid + masked, masked }, 'accounts imported');
    // Quotas and the real tier come from grok.com; in the background, so the import answers at once.
    const grok = added.filter((a) => kindOf(a) === 'grok');
    if (grok.length > 0 && services.config().token.sync_on_import) void services.quotaSync.syncMany(grok.map((a) => a.id));
    // Masked tokens count as invalid; `masked` says how many of them there were (an export made without secrets).
    return { added: added.length, skipped, invalid: invalid + masked, ...(masked > 0 ? { masked } : {}), ids: added.map((a) => a.id) };
  });

  app.get<{ Querystring: { include_secrets?: string; status?: string; kind?: string; tag?: string } }>('/admin/api/tokens/export', async (req, reply) => {
    const { include_secrets: secretsParam, status, kind, tag } = req.query;
    if (secretsParam !== undefined && secretsParam !== 'true' && secretsParam !== 'false') {
      throw errors.invalidValue('include_secrets', `Invalid value for 'include_secrets': '${secretsParam}'. Use 'true' to export the tokens themselves, 'false' (the default) for masked ones.`);
    }
    const secrets = secretsParam === 'true';
    const now = Date.now();
    const accounts = (await store.listAccounts())
      .map((a) => ({ a, v: view(a, now) }))
      .filter(({ v }) => (!status || v.status === status) && (!kind || v.kind === kind) && (!tag || v.tags.includes(tag)))
      .map(({ a, v }) => ({
        id: v.id,
        kind: v.kind,
        token: secrets ? a.token : v.token,
        tier: v.tier,
        status: v.status,
        tags: v.tags,
        note: v.note,
        created_at: v.created_at,
        last_used_at: v.last_used_at,
        last_error: v.last_error,
        last_error_at: v.last_error_at,
      }));
    if (secrets) req.log.warn({ accounts: accounts.length }, 'accounts exported with their tokens');
    const day = new Date(now).toISOString().slice(0, 10);
    reply.header('cache-control', 'no-store');
    reply.header('content-disposition', `attachment; filename="grok2api-accounts-${day}${secrets ? '-secrets' : ''}.json"`);
    return { object: 'grok2api.accounts', version: 1, exported_at: new Date(now).toISOString(), secrets, accounts };
  });

  app.post('/admin/api/tokens/delete-by-status', async (req) => {
    const body = parseBody(deleteByStatusSchema, req.body);
    const filters = [...new Set(Array.isArray(body.status) ? body.status : [body.status])];
    if (body.dry_run || body.confirm !== true) {
      const now = Date.now();
      const ids = (await store.listAccounts()).filter((a) => matchesStatusFilter(a, filters, now)).map((a) => a.id);
      if (body.dry_run) return { dry_run: true, matched: ids.length, deleted: 0, ids };
      throw new AppError(
        400,
        'invalid_request_error',
        'missing_required_parameter',
        `Deleting accounts by status needs 'confirm': true (${ids.length} account(s) are ${filters.join(' or ')} now); send 'dry_run': true to list them without deleting.`,
        'confirm',
      );
    }
    const ids = await store.deleteAccountsByStatus(filters);
    req.log.info({ filters, deleted: ids.length }, 'accounts deleted by status');
    return { deleted: ids.length, ids };
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
