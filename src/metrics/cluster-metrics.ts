/**
 * /metrics with SERVER_WORKERS > 1: the worker that gets the scrape asks the primary, which
 * collects every worker's metrics (prom-client's AggregatorRegistry, over the cluster IPC channel)
 * and answers with the aggregate, so one scrape covers the whole server whichever worker takes it.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';

const ASK = 'grok2api:metrics';
const ANSWER = 'grok2api:metrics-answer';
const TIMEOUT_MS = 10_000;

interface Ask {
  type: typeof ASK;
  id: number;
}
interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: answers workers' requests for the aggregated metrics. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, msg: Ask) => {
    if (msg?.type !== ASK) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id: msg.id, text } satisfies Answer),
      (err: Error) => worker.send({ type: ANSWER, id: msg.id, error: err.message } satisfies Answer),
    );
  });
}

let nextId = 0;
const waiting = new Map<number, (a: Answer) => void>();
let listening = false;

/** In a worker: the metrics of every worker, as the primary aggregated them. */
export function clusterMetrics(): Promise<string> {
  if (!listening) {
    listening = true;
    process.on('message', (msg: Answer) => {
      if (msg?.type === ANSWER) waiting.get(msg.id)?.(msg);
    });
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('the primary did not answer with the workers’ metrics in time'));
    }, TIMEOUT_MS);
    waiting.set(id, (a) => {
      clearTimeout(timer);
      waiting.delete(id);
      if (a.text !== undefined) resolve(a.text);
      else reject(new Error(a.error ?? 'collecting the workers’ metrics failed'));
    });
    process.send!({ type: ASK, id } satisfies Ask);
  });
}
