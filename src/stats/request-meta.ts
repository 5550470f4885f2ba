import type { FastifyRequest } from 'fastify';
import type { ProviderName } from '../core/models.js';

/**
 * What a route learns while serving a request that the request log wants (which account served
 * it, how many tokens it used). Routes call `noteRequest`; the onResponse hook reads it. Kept in
 * a WeakMap so nothing outlives the request and no route needs to know about the stats module.
 */
export interface RequestNote {
  accountId?: string;
  /** The provider whose credential served it (a turn's cost is priced on it). */
  provider?: ProviderName;
  tokens?: number;
  /** Prompt and completion tokens of every generation, as told the client in `usage`. */
  promptTokens?: number;
  completionTokens?: number;
  /** USD by the price table (stats/pricing.ts); absent = no price known. */
  cost?: number;
  /** Some of `cost` was priced on token counts the server estimated (the provider reported none). */
  costEstimated?: boolean;
}

const notes = new WeakMap<FastifyRequest, RequestNote>();

export function noteRequest(req: FastifyRequest, note: RequestNote): void {
  notes.set(req, { ...notes.get(req), ...note });
}

export function requestNote(req: FastifyRequest): RequestNote | undefined {
  return notes.get(req);
}

/**
 * Adds one generation's cost (n choices may each have run on another credential); `estimated`
 * when it was priced on the server's own token estimate rather than the provider's counts. With
 * `usage`, its prompt and completion tokens are added up too (also when no price is known).
 */
export function addRequestCost(req: FastifyRequest, usd: number | null, estimated = false, usage?: { promptTokens: number; completionTokens: number }): void {
  const note = { ...notes.get(req) };
  if (usage) {
    note.promptTokens = (note.promptTokens ?? 0) + usage.promptTokens;
    note.completionTokens = (note.completionTokens ?? 0) + usage.completionTokens;
  }
  if (usd !== null) {
    note.cost = (note.cost ?? 0) + usd;
    if (estimated) note.costEstimated = true;
  }
  notes.set(req, note);
}
