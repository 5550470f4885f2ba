import type { FastifyRequest } from 'fastify';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import { clientKeyTags, forClientKey } from '../../http/auth.js';
import type { Lease } from '../../store/types.js';
import { requestCost } from '../../stats/pricing.js';
import { addRequestCost, noteRequest, tapUsage } from '../../stats/request-meta.js';
import { reportingEvents } from '../../pool/report-events.js';
import type { Services } from '../../services.js';
import { applyIntentStages } from '../../tools/apply.js';
import { generateJson, type JsonFormat } from '../../tools/json-output.js';

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
    forClientKey(req, intent.model),
    signal,
    async (lease) => {
      const events = await services.chat.openChat(intent, { lease, signal });
      return fold(applyIntentStages(charged(services, req, intent, lease, events), intent));
    },
    clientKeyTags(req),
  );
  noteRequest(req, { accountId: acq.lease.accountId });
  await acq.release({ kind: 'success' });
  return acq.value;
}

export async function openTurn(services: Services, req: FastifyRequest, signal: AbortSignal, intent: ChatIntent): Promise<AsyncIterable<UpstreamEvent>> {
  const acq = await services.pool.acquire(forClientKey(req, intent.model), signal, (lease) => services.chat.openChat(intent, { lease, signal }), clientKeyTags(req));
  noteRequest(req, { accountId: acq.lease.accountId });
  return reportingEvents(applyIntentStages(charged(services, req, intent, acq.lease, acq.value), intent), signal, acq.release);
}

/** The turn's events, its cost noted from the provider's usage report (grok.com sends none). */
function charged(services: Services, req: FastifyRequest, intent: ChatIntent, lease: Lease, events: AsyncIterable<UpstreamEvent>): AsyncIterable<UpstreamEvent> {
  return tapUsage(events, (u) =>
    addRequestCost(req, requestCost(services.config(), lease.provider ?? 'grok', intent.model, { promptTokens: u.promptTokens, completionTokens: u.completionTokens })),
  );
}

/**
 * A whole turn whose JSON answer (text.format) was extracted and checked (the policy of
 * tools/json-output.ts), as events to replay into a body or a stream: nothing reaches the client
 * before the check, so a failure is a plain HTTP error.
 */
export function foldCheckedTurn(
  services: Services,
  req: FastifyRequest,
  signal: AbortSignal,
  intent: ChatIntent,
  format: JsonFormat,
  param: string,
): Promise<UpstreamEvent[]> {
  const record = async (source: AsyncIterable<UpstreamEvent>) => {
    const all: UpstreamEvent[] = [];
    for await (const e of source) all.push(e);
    return all;
  };
  return generateJson(
    format,
    param,
    () => foldTurn(services, req, signal, intent, record),
    (events) => {
      const done = events.find((e) => e.type === 'done');
      if ((done?.type === 'done' && done.reason === 'length') || events.some((e) => e.type === 'tool_call')) return null;
      return events.map((e) => (e.type === 'text' ? e.text : '')).join('');
    },
    withText,
  );
}

/** The events with their text replaced by `text` (the extracted JSON), where the text began. */
function withText(events: UpstreamEvent[], text: string): UpstreamEvent[] {
  const out: UpstreamEvent[] = [];
  let placed = false;
  for (const e of events) {
    if ((e.type === 'text' || e.type === 'done') && !placed) {
      out.push({ type: 'text', text });
      placed = true;
    }
    if (e.type !== 'text') out.push(e);
  }
  if (!placed) out.push({ type: 'text', text });
  return out;
}

/** Replays recorded events as the async stream the translators read. */
export async function* replay(events: readonly UpstreamEvent[]): AsyncGenerator<UpstreamEvent> {
  yield* events;
}
