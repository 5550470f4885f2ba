import type { FastifyInstance } from 'fastify';
import { clientKeyOf } from '../http/auth.js';
import { requestNote } from './request-meta.js';
import type { StatsStore } from './types.js';

/**
 * Feeds every finished client request into the stats (onResponse: after the last byte, so a
 * stream's duration is the whole stream). Reads only the model name from the body, never content.
 */
export function installStatsHook(scope: FastifyInstance, stats: StatsStore): void {
  scope.addHook('onResponse', async (req, reply) => {
    const model = (req.body as { model?: unknown } | undefined)?.model;
    const note = requestNote(req);
    stats.record({
      time: Date.now(),
      method: req.method,
      route: req.routeOptions.url ?? req.url.split('?')[0]!,
      model: typeof model === 'string' ? model.slice(0, 100) : null,
      key: clientKeyOf(req)?.name ?? null,
      account: note?.accountId ?? null,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      tokens: note?.tokens ?? null,
      cost: note?.cost ?? null,
      ...(note?.costEstimated ? { costEstimated: true } : {}),
    });
  });
}
