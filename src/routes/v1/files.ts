import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errors } from '../../errors.js';
import type { MediaKind } from '../../media/cache.js';
import { MIME_BY_EXT } from '../../media/sniff.js';
import type { Services } from '../../services.js';

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range); null = not satisfiable; undefined = ignore the header. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (!m[1] && !m[2])) return undefined; // malformed or multi-range: serve the whole file (RFC 9110 allows it)
  let start: number;
  let end: number;
  if (!m[1]) {
    const n = Number(m[2]);
    if (n === 0) return null;
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

/**
 * GET/HEAD /v1/files/{image|video}/{id}: cached media, no API key (ids are 128-bit random).
 * Content is immutable per id, so the id is the ETag and clients may cache for a year.
 */
export function registerFileRoutes(app: FastifyInstance, services: Services): void {
  const serve = async (kind: MediaKind, req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const { id } = req.params;
    const path = services.media.cache.path(kind, id);
    const st = path ? await stat(path).catch(() => null) : null;
    if (!path || !st) throw errors.notFound(`No cached ${kind} with id '${id}'. Generated media may have been evicted from the cache; generate it again.`);
    const etag = `"${id}"`;
    reply
      .header('content-type', MIME_BY_EXT[id.split('.').pop()!] ?? 'application/octet-stream')
      .header('etag', etag)
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff');
    const inm = req.headers['if-none-match'];
    if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) return reply.status(304).send();
    const ifRange = req.headers['if-range'];
    const range = ifRange && ifRange !== etag ? undefined : parseRange(req.headers.range, st.size);
    if (range === null) {
      reply.header('content-range', `bytes */${st.size}`);
      throw new AppError(416, 'invalid_request_error', 'range_not_satisfiable', `The requested range is outside the file (${st.size} bytes).`);
    }
    if (range) {
      reply.status(206).header('content-range', `bytes ${range.start}-${range.end}/${st.size}`).header('content-length', range.end - range.start + 1);
      return req.method === 'HEAD' ? reply.send() : reply.send(createReadStream(path, { start: range.start, end: range.end }));
    }
    reply.header('content-length', st.size);
    return req.method === 'HEAD' ? reply.send() : reply.send(createReadStream(path));
  };
  for (const kind of ['image', 'video'] as const) {
    app.get<{ Params: { id: string } }>(`/v1/files/${kind}/:id`, (req, reply) => serve(kind, req, reply));
  }
}
