import type { FastifyRequest } from 'fastify';
import type { UpstreamEvent } from '../core/events.js';

/**
 * What a route learns while serving a request that the request log wants (which account served
 * it, how many tokens it used). Routes call `noteRequest`; the onResponse hook reads it. Kept in
 * a WeakMap so nothing outlives the request and no route needs to know about the stats module.
 */
export interface RequestNote {
  accountId?: string;
  tokens?: number;
  /** USD by the price table (stats/pricing.ts); absent = no price known. */
  cost?: number;
}

const notes = new WeakMap<FastifyRequest, RequestNote>();

export function noteRequest(req: FastifyRequest, note: RequestNote): void {
  notes.set(req, { ...notes.get(req), ...note });
}

export function requestNote(req: FastifyRequest): RequestNote | undefined {
  return notes.get(req);
}

/** Adds one generation's cost (n choices may each have run on another credential). */
export function addRequestCost(req: FastifyRequest, usd: number | null): void {
  if (usd === null) return;
  const note = notes.get(req);
  notes.set(req, { ...note, cost: (note?.cost ?? 0) + usd });
}

/**
 * Passes events through and hands the provider's usage report (an upstream that counts tokens
 * itself sends one `usage` event) to `onUsage` when it passes.
 */
export async function* tapUsage(events: AsyncIterable<UpstreamEvent>, onUsage: (u: Extract<UpstreamEvent, { type: 'usage' }>) => void): AsyncGenerator<UpstreamEvent> {
  for await (const e of events) {
    if (e.type === 'usage') onUsage(e);
    yield e;
  }
}
