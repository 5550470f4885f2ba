/**
 * SERVER_WORKERS > 1 (redis storage only, checked by the config loader): the primary process
 * forks that many workers sharing the listen socket (node:cluster), restarts a worker that dies
 * unexpectedly (with a growing delay so a crash loop does not spin), and on SIGTERM/SIGINT
 * forwards the signal so every worker drains its streams, then exits when they are all gone.
 */
import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from './metrics/cluster-metrics.js';

export function runPrimary(workers: number, graceSec: number): void {
  let stopping = false;
  let restarts = 0;
  const fork = () => cluster.fork();
  // GET /metrics on any worker answers with every worker's metrics, aggregated here.
  serveClusterMetrics();
  for (let i = 0; i < workers; i++) fork();

  cluster.on('exit', (worker: Worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    restarts++;
    const delay = Math.min(10_000, 200 * 2 ** Math.min(restarts, 6));
    process.stderr.write(`grok2api: worker ${worker.process.pid} exited (${signal ?? code}); starting a new one in ${delay} ms\n`);
    setTimeout(() => {
      if (!stopping) fork();
    }, delay).unref();
  });
  // A worker that stayed up a while resets the backoff.
  setInterval(() => (restarts = Math.max(0, restarts - 1)), 60_000).unref();

  const stop = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {});
    if (alive.length === 0) process.exit(0);
    for (const w of alive) w?.process.kill(sig);
    // Workers drain within their own grace period; do not wait forever for a stuck one.
    setTimeout(() => process.exit(1), (graceSec + 10) * 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export const isPrimary = () => cluster.isPrimary;
