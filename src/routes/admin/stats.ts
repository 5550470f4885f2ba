import type { FastifyInstance } from 'fastify';
import { settingsHelp } from '../../config/help.js';
import { errors } from '../../errors.js';
import type { Services } from '../../services.js';

/** Usage figures, the recent-request log, and the settings' help texts for the console. */
export function registerStatsRoutes(app: FastifyInstance, services: Services): void {
  app.get('/admin/api/stats', async () => {
    const now = Date.now();
    const health: Record<string, number> = { active: 0, cooling: 0, invalid: 0, disabled: 0 };
    for (const a of await services.store.listAccounts()) {
      // A cooling account whose time has passed is usable again: count it as active.
      const status = a.status === 'cooling' && (a.coolingUntil === null || a.coolingUntil <= now) ? 'active' : a.status;
      health[status] = (health[status] ?? 0) + 1;
    }
    return {
      ...(await services.stats.snapshot(now)),
      accounts_by_status: health,
      // Requests waiting for a concurrency slot right now (every instance, on a shared store).
      queue_depth: await services.pool.queueDepth(),
      // What grok.com sent that this process does not know (frame kinds, channels, cards), by kind:name.
      upstream_unknown: services.providers.get('grok')?.unknownFrames?.() ?? {},
      generated_at: new Date(now).toISOString(),
    };
  });

  app.get<{ Querystring: { limit?: string } }>('/admin/api/logs', async (req) => {
    const raw = req.query.limit ?? '100';
    const limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw errors.invalidValue('limit', `'limit' must be an integer from 1 to 10000, not '${raw}'.`);
    const logs = (await services.stats.recent(limit)).map((e) => ({
      time: new Date(e.time).toISOString(),
      method: e.method,
      route: e.route,
      model: e.model,
      key_name: e.key,
      account_id: e.account,
      status: e.status,
      duration_ms: e.ms,
      tokens: e.tokens,
      cost_usd: e.cost ?? null,
      cost_estimated: e.costEstimated === true,
    }));
    return { logs };
  });

  app.get('/admin/api/settings/help', async () => ({ help: settingsHelp() }));
}
