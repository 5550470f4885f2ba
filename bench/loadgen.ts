/**
 * The load generator, a child process of run.ts (forked, jobs over IPC) so its CPU is never
 * counted against the server it measures. It drives autocannon and keeps every latency sample
 * itself: autocannon's own histogram records whole milliseconds, too coarse for the sub-ms
 * differences we look for. Time to first byte is taken per request from autocannon's client
 * ('body' event = first chunk of the response body, relative to the moment the request was sent).
 */
import { createRequire } from 'node:module';
import { summarize, type Summary } from './stats.js';

export interface LoadJob {
  url: string;
  headers: Record<string, string>;
  /** Request bodies, cycled in order by every connection. */
  bodies: string[];
  connections: number;
  /** Run for this long… */
  durationSec?: number;
  /** …or until this many responses arrived. */
  amount?: number;
  /** A response counts as correct when its body contains one of these. */
  expect: string[];
  timeoutSec: number;
  /** Keep the connections open until a 'stop' message (the open-streams measurement). */
  hold?: boolean;
}

export interface LoadResult {
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  elapsedMs: number;
  rps: number;
  latency: Summary;
  ttfb: Summary;
}

interface AcClient {
  on(event: 'body', fn: () => void): void;
  destroy(): void;
  conn?: { destroy(): void };
  pipelinedRequests: { peek(): { startTime: [number, number]; ttfbSeen?: boolean } | undefined };
}
interface AcInstance {
  on(event: 'response', fn: (client: AcClient, status: number, bytes: number, ms: number) => void): void;
  on(event: 'start', fn: () => void): void;
  stop(): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: Record<string, number>) => void) => AcInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const msSince = (t: [number, number]) => {
  const [s, ns] = process.hrtime(t);
  return s * 1e3 + ns / 1e6;
};

/** The clients of the running job: a hold job ends by destroying their sockets, like clients going away. */
const clients: AcClient[] = [];

function run(job: LoadJob, onInstance: (i: AcInstance) => void): Promise<LoadResult> {
  clients.length = 0;
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  let t0 = 0;
  let tLast = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...job.headers },
        requests: job.bodies.map((body) => ({ method: 'POST', body })),
        connections: job.connections,
        ...(job.amount ? { amount: job.amount } : { duration: job.durationSec ?? 3600 }),
        timeout: job.timeoutSec,
        // Check for the end of the run every 100 ms instead of every second.
        sampleInt: 100,
        verifyBody: (body: string) => job.expect.some((e) => body.includes(e)),
        setupClient: (client: AcClient) => {
          clients.push(client);
          client.on('body', () => {
            const req = client.pipelinedRequests.peek();
            if (req && !req.ttfbSeen) {
              req.ttfbSeen = true;
              ttfbs.push(msSince(req.startTime));
            }
          });
        },
      },
      (err, res) => {
        // Requests still in flight when a timed run ends are abandoned: close their sockets for good
        // (autocannon only half-closes) so the servers stop working on them.
        for (const c of clients) c.conn?.destroy();
        if (err) return reject(err);
        const elapsedMs = tLast > t0 ? tLast - t0 : 1;
        resolve({
          ok: res['2xx'] ?? 0,
          non2xx: res.non2xx ?? 0,
          errors: res.errors ?? 0,
          timeouts: res.timeouts ?? 0,
          mismatches: res.mismatches ?? 0,
          elapsedMs,
          rps: (latencies.length * 1000) / elapsedMs,
          latency: summarize(latencies),
          ttfb: summarize(ttfbs),
        });
      },
    );
    instance.on('start', () => {
      t0 = performance.now();
    });
    instance.on('response', (_c, status, _b, ms) => {
      tLast = performance.now();
      if (status >= 200 && status < 300) latencies.push(ms);
    });
    onInstance(instance);
  });
}

let current: AcInstance | null = null;
process.on('message', (msg: { type: 'run'; job: LoadJob } | { type: 'stop' }) => {
  if (msg.type === 'stop') {
    // autocannon's own stop only half-closes (FIN) its sockets, which a server may not notice
    // while it is still writing; a vanished client closes the socket for good.
    for (const c of clients) {
      c.destroy();
      c.conn?.destroy();
    }
    current?.stop();
    return;
  }
  run(msg.job, (i) => (current = i)).then(
    (result) => process.send!({ type: 'result', result }),
    (err: Error) => process.send!({ type: 'error', message: err.message }),
  );
});
process.send!({ type: 'ready' });
// The parent going away (crash, Ctrl-C) must not leave this process generating load.
process.on('disconnect', () => process.exit(0));
