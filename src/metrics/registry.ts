/**
 * The Prometheus metrics of this process (prom-client's global registry, which is also what the
 * cluster primary collects from each worker and sums: see ./cluster.ts). Module-level like the
 * unknown-frame counter: the pool and the HTTP hook record here without being wired to it.
 * Metrics that describe shared state (accounts, slots, the queue: the same figures on every
 * worker of one store) are gauges read at scrape time and aggregated with `first`, not summed.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';
import type { ProviderName } from '../core/models.js';
import type { Account } from '../store/types.js';
import { unknownFrames } from '../upstream/grok/unknown-frames.js';

export const metricsRegistry = register;

// A worker answers the primary's collection requests only once an AggregatorRegistry exists.
if (cluster.isWorker) new AggregatorRegistry();

collectDefaultMetrics({ prefix: 'grok2api_' });

/** Request latency buckets, seconds: from a cached model list to a long video generation. */
const LATENCY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];

export const httpRequests = new Counter({
  name: 'grok2api_http_requests_total',
  help: 'Finished client requests by route, model, status, client key name and the provider that served them.',
  labelNames: ['route', 'method', 'model', 'status', 'key', 'provider'] as const,
});

export const httpDuration = new Histogram({
  name: 'grok2api_http_request_duration_seconds',
  help: 'Time from the request to the last byte of the answer (a whole stream for streamed answers).',
  labelNames: ['route', 'model', 'provider'] as const,
  buckets: LATENCY_BUCKETS,
});

export const httpTimeToFirstByte = new Histogram({
  name: 'grok2api_http_time_to_first_byte_seconds',
  help: 'Time from the request to the first body byte written to the client.',
  labelNames: ['route', 'model', 'provider'] as const,
  buckets: LATENCY_BUCKETS,
});

export const bytesIn = new Counter({ name: 'grok2api_http_request_bytes_total', help: 'Bytes received from clients (headers and bodies).', labelNames: ['route'] as const });
export const bytesOut = new Counter({ name: 'grok2api_http_response_bytes_total', help: 'Bytes sent to clients (headers and bodies).', labelNames: ['route'] as const });

export const alertsTotal = new Counter({
  name: 'grok2api_alerts_total',
  help: 'Alert webhooks by kind and result: sent, failed (retries used up), held (rate limit, or another instance sent it).',
  labelNames: ['kind', 'result'] as const,
});

export const upstreamAttempts = new Counter({
  name: 'grok2api_upstream_attempts_total',
  help: 'Upstream attempts by provider and result: ok, or the failure class (the error code), aborted, internal.',
  labelNames: ['provider', 'result'] as const,
});

export const upstreamRetries = new Counter({
  name: 'grok2api_upstream_retries_total',
  help: 'Attempts repeated on the same account after a failure, by provider and failure class.',
  labelNames: ['provider', 'class'] as const,
});

export const upstreamFailovers = new Counter({
  name: 'grok2api_upstream_failovers_total',
  help: 'Requests moved to another account (or the next provider) after a failure, by provider and failure class.',
  labelNames: ['provider', 'class'] as const,
});

export const storeErrors = new Counter({
  name: 'grok2api_store_errors_total',
  help: 'Store operations that failed (unreachable store, failed background flushes), by what failed.',
  labelNames: ['operation'] as const,
});

/** What the scrape-time gauges read: set by the app (the last app built in this process wins). */
export interface MetricSources {
  listAccounts(): Promise<Account[]>;
  queueDepth(): Promise<number>;
}
let sources: MetricSources | null = null;
export function useMetricSources(s: MetricSources): void {
  sources = s;
}

/**
 * One read of the store per scrape, shared by the gauges below: prom-client starts every
 * metric's collect in one synchronous pass, so the read is forgotten at the next microtask.
 */
let snapshot: Promise<Account[]> | null = null;
function accountsNow(): Promise<Account[]> {
  if (!snapshot) {
    snapshot = sources ? sources.listAccounts() : Promise.resolve([]);
    queueMicrotask(() => (snapshot = null));
  }
  return snapshot;
}

/** Reads the store for a gauge; a failure counts as a store error and leaves the gauge empty. */
async function readAccounts(): Promise<Account[] | null> {
  try {
    return await accountsNow();
  } catch {
    storeErrors.inc({ operation: 'metrics_read' });
    return null;
  }
}

const kind = (a: Account): ProviderName => a.kind ?? 'grok';

new Gauge({
  name: 'grok2api_accounts',
  help: 'Accounts by provider and state (a cooling account whose time has passed counts as active).',
  labelNames: ['provider', 'state'] as const,
  aggregator: 'first',
  async collect() {
    const accounts = await readAccounts();
    this.reset();
    if (!accounts) return;
    const now = Date.now();
    for (const a of accounts) {
      const state = a.status === 'cooling' && (a.coolingUntil === null || a.coolingUntil <= now) ? 'active' : a.status;
      this.inc({ provider: kind(a), state });
    }
  },
});

new Gauge({
  name: 'grok2api_slots_in_use',
  help: 'Upstream requests in flight over all accounts, by provider (the concurrency slots taken).',
  labelNames: ['provider'] as const,
  aggregator: 'first',
  async collect() {
    const accounts = await readAccounts();
    this.reset();
    for (const a of accounts ?? []) this.inc({ provider: kind(a) }, a.inFlight);
  },
});

new Gauge({
  name: 'grok2api_quota_remaining',
  help: 'Known quota left over all grok.com accounts, by mode (from the last quota sync).',
  labelNames: ['mode'] as const,
  aggregator: 'first',
  async collect() {
    const accounts = await readAccounts();
    this.reset();
    for (const a of accounts ?? []) for (const [mode, q] of Object.entries(a.quotas)) this.inc({ mode }, q.remaining);
  },
});

new Gauge({
  name: 'grok2api_slot_queue_depth',
  help: 'Requests waiting for a concurrency slot (every instance on a shared store).',
  aggregator: 'first',
  async collect() {
    try {
      this.set(sources ? await sources.queueDepth() : 0);
    } catch {
      storeErrors.inc({ operation: 'metrics_read' });
    }
  },
});

new Counter({
  name: 'grok2api_upstream_unknown_total',
  help: 'Upstream frames, channels or cards this server does not know, by kind:name (this process since start).',
  labelNames: ['name'] as const,
  collect() {
    this.reset();
    for (const [name, n] of Object.entries(unknownFrames.snapshot())) this.inc({ name }, n);
  },
});

/** Which provider an account belongs to, as its leases said (for the request counter's label). */
const providerByAccount = new Map<string, ProviderName>();
export function noteLeaseProvider(accountId: string, provider: ProviderName): void {
  providerByAccount.set(accountId, provider);
}
export function providerOfAccount(accountId: string | undefined): string {
  return accountId === undefined ? 'none' : (providerByAccount.get(accountId) ?? 'grok');
}
