import type { FastifyRequest } from 'fastify';

/**
 * What a route learns while serving a request that the request log wants (which account served
 * it, how many tokens it used). Routes call `noteRequest`; the onResponse hook reads it. Kept in
 * a WeakMap so nothing outlives the request and no route needs to know about the stats module.
 */
export interface RequestNote {
  accountId?: string;
  tokens?: number;
}

const notes = new WeakMap<FastifyRequest, RequestNote>();

export function noteRequest(req: FastifyRequest, note: RequestNote): void {
  notes.set(req, { ...notes.get(req), ...note });
}

export function requestNote(req: FastifyRequest): RequestNote | undefined {
  return notes.get(req);
}
