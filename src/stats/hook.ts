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
    const key = clientKeyOf(req);
    const counted = note?.promptTokens !== undefined || note?.completionTokens !== undefined;
    stats.record({
      time: Date.now(),
      method: req.method,
      route: req.routeOptions.url ?? req.url.split('?')[0]!,
      model: typeof model === 'string' ? model.slice(0, 100) : null,
      // The key's name and id (a key from API_KEY: id `API_KEY`), never the key.
      key: key?.name ?? null,
      keyId: key ? (key.id ?? 'API_KEY') : null,
      account: note?.accountId ?? null,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      tokens: note?.tokens ?? (counted ? (note?.promptTokens ?? 0) + (note?.completionTokens ?? 0) : null),
      promptTokens: note?.promptTokens ?? null,
      completionTokens: note?.completionTokens ?? null,
      cost: note?.cost ?? null,
      ...(note?.costEstimated ? { costEstimated: true } : {}),
    });
  });
}
