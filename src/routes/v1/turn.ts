import type { FastifyRequest } from 'fastify';
import type { UpstreamEvent } from '../../core/events.js';
import type { ChatIntent } from '../../core/intent.js';
import { clientKeyTags, forClientKey } from '../../http/auth.js';
import type { Lease } from '../../store/types.js';
import { requestCost, type TokenUsage } from '../../stats/pricing.js';
import { addRequestCost, noteRequest, requestNote } from '../../stats/request-meta.js';
import { reportingEvents } from '../../pool/report-events.js';
import type { Services } from '../../services.js';
import { applyIntentStages } from '../../tools/apply.js';
import { generateJson, type JsonFormat } from '../../tools/json-output.js';

/** What a translator calls once with the `usage` it told the client, when the turn ended whole. */
export type Meter = (usage: TokenUsage) => void;

/**
 * Prices a finished turn on the provider that served it (noted by foldTurn/openTurn) from the
 * counts the translator put in the client's `usage`: the provider's own (xAI) or the server's
 * estimate (grok.com), the cost marked estimated then.
 */
export function chargeTurn(services: Services, req: FastifyRequest, intent: ChatIntent): Meter {
  return (u) => addRequestCost(req, requestCost(services.config(), requestNote(req)?.provider ?? 'grok', intent.model, u), u.estimated === true, u);
}

/**
 * One upstream turn for the Responses and Anthropic routes, with the emulated stages (tools,
 * limits) applied. Non-stream: `fold` runs inside the pool attempt, so a failure anywhere in the
 * turn may still move to another account; the usage it meters is charged once it succeeded.
 * Stream: resolves once the upstream is primed; the returned events report the outcome when they
 * end (the stream translator meters through chargeTurn).
 */
export async function foldTurn<T>(
  services: Services,
  req: FastifyRequest,
  signal: AbortSignal,
  intent: ChatIntent,
  fold: (events: AsyncIterable<UpstreamEvent>, meter: Meter) => Promise<T>,
): Promise<T> {
  let used: TokenUsage | undefined;
  const acq = await services.pool.acquire(
    forClientKey(req, intent.model),
    signal,
    async (lease) => {
      used = undefined;
      const events = await services.chat.openChat(intent, { lease, signal });
      return fold(applyIntentStages(events, intent), (u) => (used = u));
    },
    clientKeyTags(req),
  );
  noteServed(req, acq.lease);
  if (used) chargeTurn(services, req, intent)(used);
  await acq.release({ kind: 'success' });
  return acq.value;
}

export async function openTurn(services: Services, req: FastifyRequest, signal: AbortSignal, intent: ChatIntent): Promise<AsyncIterable<UpstreamEvent>> {
  const acq = await services.pool.acquire(forClientKey(req, intent.model), signal, (lease) => services.chat.openChat(intent, { lease, signal }), clientKeyTags(req));
  noteServed(req, acq.lease);
  return reportingEvents(applyIntentStages(acq.value, intent), signal, acq.release);
}

const noteServed = (req: FastifyRequest, lease: Lease) => noteRequest(req, { accountId: lease.accountId, provider: lease.provider ?? 'grok' });

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
