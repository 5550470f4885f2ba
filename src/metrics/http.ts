/**
 * The HTTP side of the metrics: every finished request counted and timed (latency, time to first
 * byte, bytes in and out), and `GET /metrics` in the Prometheus text format, behind
 * `metrics.token` when one is set.
 */
import cluster from 'node:cluster';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { clientKeyOf, presentedKey, safeEqual } from '../http/auth.js';
import { onFirstByte } from '../http/first-byte.js';
import type { Services } from '../services.js';
import { requestNote } from '../stats/request-meta.js';
import { clusterMetrics } from './cluster-metrics.js';
import { bytesIn, bytesOut, httpDuration, httpRequests, httpTimeToFirstByte, metricsRegistry, providerOfAccount, storeErrors, useMetricSources } from './registry.js';

interface Timing {
  start: bigint;
  firstByte: bigint | null;
}
const timings = new WeakMap<FastifyRequest, Timing>();
/** Socket byte counts at the end of the previous request on it (keep-alive sockets carry several). */
const socketSeen = new WeakMap<Socket, { read: number; written: number }>();

const seconds = (from: bigint, to: bigint) => Number(to - from) / 1e9;

/** The model label: what the client asked for, unless the request was refused as malformed or unknown (unbounded names). */
function modelLabel(req: FastifyRequest, status: number): string {
  const model = (req.body as { model?: unknown } | undefined)?.model;
  if (typeof model !== 'string' || status === 400 || status === 404) return 'none';
  return model.slice(0, 100);
}

export function installMetrics(app: FastifyInstance, services: Services): void {
  useMetricSources({ listAccounts: () => services.store.listAccounts(), queueDepth: () => services.pool.queueDepth() });

  app.addHook('onRequest', async (req, reply) => {
    const timing: Timing = { start: process.hrtime.bigint(), firstByte: null };
    timings.set(req, timing);
    onFirstByte(reply.raw, () => {
      timing.firstByte ??= process.hrtime.bigint();
    });
  });

  app.addHook('onResponse', async (req, reply) => {
    const timing = timings.get(req);
    const now = process.hrtime.bigint();
    const route = req.routeOptions.url ?? 'unmatched';
    const status = reply.statusCode;
    const model = modelLabel(req, status);
    const provider = providerOfAccount(requestNote(req)?.accountId);
    httpRequests.inc({ route, method: req.method, model, status: String(status), key: clientKeyOf(req)?.name ?? 'none', provider });
    if (timing) {
      httpDuration.observe({ route, model, provider }, seconds(timing.start, now));
      if (timing.firstByte) httpTimeToFirstByte.observe({ route, model, provider }, seconds(timing.start, timing.firstByte));
    }
    const socket = req.raw.socket as Socket | null;
    if (socket) {
      const seen = socketSeen.get(socket) ?? { read: 0, written: 0 };
      bytesIn.inc({ route }, Math.max(0, socket.bytesRead - seen.read));
      bytesOut.inc({ route }, Math.max(0, socket.bytesWritten - seen.written));
      socketSeen.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
    }
  });

  // A request the store could not serve (Redis or the database unreachable): one store error.
  app.addHook('onError', async (_req, _reply, err) => {
    if (err instanceof AppError && err.code === 'store_unavailable') storeErrors.inc({ operation: 'request' });
  });

  app.get('/metrics', async (req, reply) => {
    const token = services.config().metrics.token;
    if (token) {
      const given = presentedKey(req);
      if (!given || !safeEqual(given, token)) throw new AppError(401, 'authentication_error', 'invalid_api_key', 'This server’s metrics need `Authorization: Bearer <metrics.token>`.');
    }
    const text = cluster.isWorker ? await clusterMetrics() : await metricsRegistry.metrics();
    return reply.header('content-type', metricsRegistry.contentType).header('cache-control', 'no-store').send(text);
  });
}
