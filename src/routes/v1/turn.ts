import type { FastifyRequest } from 'fastify';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import { clientKeyTags } from '../../http/auth.js';
import { noteRequest } from '../../stats/request-meta.js';
import { reportingEvents } from '../../pool/report-events.js';
import type { Services } from '../../services.js';
import { applyIntentStages } from '../../tools/apply.js';

/**
 * One upstream turn for the Responses and Anthropic routes, with the emulated stages (tools,
 * limits) applied. Non-stream: `fold` runs inside the pool attempt, so a failure anywhere in the
 * turn may still move to another account. Stream: resolves once the upstream is primed; the
 * returned events report the outcome when they end.
 */
export async function foldTurn<T>(
  services: Services,
  req: FastifyRequest,
  signal: AbortSignal,
  intent: ChatIntent,
  fold: (events: AsyncIterable<UpstreamEvent>) => Promise<T>,
): Promise<T> {
  const acq = await services.pool.acquire(
    intent.model,
    signal,
    async (lease) => {
      const events = await services.chat.openChat(intent, { lease, signal });
      return fold(applyIntentStages(events, intent));
    },
    clientKeyTags(req),
  );
  noteRequest(req, { accountId: acq.lease.accountId });
  await acq.release({ kind: 'success' });
  return acq.value;
}

export async function openTurn(services: Services, req: FastifyRequest, signal: AbortSignal, intent: ChatIntent): Promise<AsyncIterable<UpstreamEvent>> {
  const acq = await services.pool.acquire(intent.model, signal, (lease) => services.chat.openChat(intent, { lease, signal }), clientKeyTags(req));
  noteRequest(req, { accountId: acq.lease.accountId });
  return reportingEvents(applyIntentStages(acq.value, intent), signal, acq.release);
}
