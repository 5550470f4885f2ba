import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ModelSpec, ProviderName } from '../core/models.js';
import { AppError, UpstreamError, errors } from '../errors.js';
import type { Lease, LeaseRequest, LeaseResult, Outcome, PoolPolicy, Store } from '../store/types.js';
import { noteLeaseProvider, upstreamAttempts, upstreamFailovers, upstreamRetries } from '../metrics/registry.js';
import { onlyCapBlocks, SlotQueue } from './queue/slot-queue.js';
import { ATTR, endFailed, startSpan, withSpan, type Span } from '../tracing/tracing.js';

/** A primed upstream result bound to the account that produced it. */
export interface Acquired<T> {
  value: T;
  lease: Lease;
  /** Reports how the request ended. Safe to call more than once (the store ignores repeats). */
  release(outcome: Outcome): Promise<void>;
}

export type Attempt<T> = (lease: Lease) => Promise<T>;

/**
 * What the trace of one acquire() knows across its attempts (tracing only): how many attempts
 * came before, and why the next one happens (`none`, `same_account`, `other_account`,
 * `next_provider`, `anti_bot`).
 */
interface AttemptTrail {
  count: number;
  next: string;
}

/**
 * The account pool: leases an account for a model, runs one attempt on it and, when the attempt
 * fails in a way another account might not (see the classifier), reports the failure and tries
 * the next account, within `retry.max_attempts` and `retry.budget_sec`. Only failures before the
 * attempt resolves are retried: once a stream has started, its errors go to the client in-band.
 */
export class AccountPool {
  /**
   * A provider's anti-bot recovery (bootstrap.ts wires the registry's account upstreams): `matches`
   * says whether a failure is its anti-bot refusal (grok.com's code 7); `refresh` runs before the
   * one same-account retry (a fresh connection for the account's egress and, with a solver
   * configured, fresh clearance). Unset: no such retry.
   */
  antiBot: { matches(provider: ProviderName, err: UpstreamError): boolean; refresh(provider: ProviderName, token: string): Promise<void> } | undefined;

  /**
   * Told (synchronously; the work happens off the request) when a request found no account to
   * serve it and when an outcome made an account invalid (bootstrap.ts wires src/alerts/). Unset: nobody.
   */
  alerts: { poolExhausted(e: { model: string; code: string }): void; accountInvalid(): void } | undefined;

  constructor(
    private readonly store: Store,
    private readonly config: () => Config,
    private readonly log: Logger,
    /** Where requests wait for a slot when every eligible account is at its cap; none: 429 at once. */
    private readonly queue?: SlotQueue,
  ) {}

  /** Requests waiting for a slot, over every instance sharing the queue. */
  queueDepth(): Promise<number> {
    return this.queue ? this.queue.depth() : Promise.resolve(0);
  }

  /**
   * Leases for a request's first attempt, waiting in the slot queue (token.queue_timeout_sec) when
   * only the concurrency cap stands in the way. While anyone waits, newcomers queue behind them
   * instead of taking a freed slot first. Retries after a failed attempt do not queue again.
   */
  private async leaseOrWait(req: LeaseRequest, signal: AbortSignal, first: boolean, span?: Span): Promise<LeaseResult> {
    const t = this.config().token;
    if (!this.queue || !first || t.queue_timeout_sec <= 0) return this.store.lease(req);
    if ((await this.queue.depth()) === 0) {
      const leased = await this.store.lease(req);
      if (!onlyCapBlocks(leased)) return leased;
    }
    const queuedAt = performance.now();
    const waited = await this.queue.wait(SlotQueue.queueFor(req), signal, t.queue_timeout_sec * 1000, t.queue_max, () => this.store.lease(req));
    span?.setAttributes({ [ATTR.queueWaitMs]: Math.round(performance.now() - queuedAt), [ATTR.queueResult]: waited.kind });
    if (waited.kind === 'leased') return waited.result;
    if (waited.kind === 'full') this.log.warn({ queueMax: t.queue_max }, 'slot queue full: refusing at once');
    return { ok: false, reason: 'none_available', retryAfterMs: null };
  }

  policy(): PoolPolicy {
    const t = this.config().token;
    return { failThreshold: t.fail_threshold, cooldownMs: t.cooldown_seconds * 1000 };
  }

  /**
   * Leases a credential for `model` and runs `attempt` on it, retrying on other credentials as the
   * classifier allows. The model's providers are tried in order (narrowed to `providers` when a
   * client key is limited to some): when one has no eligible credential — none imported, all
   * cooling, exhausted, at their cap, or all tried — the next one is asked, still before anything
   * reached the client. `<provider>/<model>` ids come with a single provider (config/catalogue.ts).
   */
  async acquire<T>(model: ModelSpec, signal: AbortSignal, attempt: Attempt<T>, tags?: string[], providers?: readonly ProviderName[]): Promise<Acquired<T>> {
    const cfg = this.config();
    const deadline = Date.now() + cfg.retry.budget_sec * 1000;
    const order = (model.providers ?? ['grok']).filter((p) => !providers || providers.includes(p));
    if (order.length === 0) throw errors.providerNotAllowed(model.id);
    const refusals: AppError[] = [];
    const trail: AttemptTrail = { count: 0, next: 'none' };
    for (const provider of order) {
      const got = await this.acquireFrom(provider, model, signal, attempt, tags, deadline, trail);
      if (got.ok) return got.acquired;
      refusals.push(got.error);
      if (Date.now() >= deadline) break;
      if (provider !== order.at(-1)) upstreamFailovers.inc({ provider, class: got.error.code ?? 'unknown' });
      trail.next = 'next_provider';
    }
    // The most telling refusal: one from a provider that has credentials beats "none imported".
    const refusal = refusals.find((e) => e.code !== 'no_accounts') ?? refusals[0]!;
    if (refusal.code === 'no_available_tokens' || refusal.code === 'no_accounts') this.alerts?.poolExhausted({ model: model.id, code: refusal.code });
    throw refusal;
  }

  /** The lease request for one provider: grok.com modes by tier, or the provider's model name. */
  private leaseRequest(provider: ProviderName, model: ModelSpec, tried: string[], tags: string[] | undefined): LeaseRequest {
    const cfg = this.config();
    const common = {
      exclude: tried,
      // A client key's tags (when given) narrow the pool, else the model's own restriction.
      tags: tags ?? (model.tags && model.tags.length > 0 ? model.tags : undefined),
      maxConcurrency: cfg.token.max_concurrency_per_account,
      strategy: cfg.token.selection_strategy,
    };
    if (provider === 'grok') {
      return { ...common, modes: model.modes, minTier: model.tier, tierModes: { basic: cfg.token.basic_modes, super: cfg.token.super_modes, heavy: cfg.token.heavy_modes } };
    }
    // API keys have no tiers: every key serves every model, leased under the provider's model name.
    const name = model.upstreamModel?.[provider] ?? model.id;
    return { ...common, provider, modes: [name], minTier: 'basic', tierModes: { basic: [name], super: [name], heavy: [name] } };
  }

  private async acquireFrom<T>(
    provider: ProviderName,
    model: ModelSpec,
    signal: AbortSignal,
    attempt: Attempt<T>,
    tags: string[] | undefined,
    deadline: number,
    trail: AttemptTrail = { count: 0, next: 'none' },
  ): Promise<{ ok: true; acquired: Acquired<T> } | { ok: false; error: AppError }> {
    const cfg = this.config();
    const tried: string[] = [];
    let lastError: UpstreamError | null = null;

    for (let n = 0; n < cfg.retry.max_attempts; n++) {
      signal.throwIfAborted();
      const leaseSpan = startSpan('pool.lease', { [ATTR.provider]: provider, [ATTR.model]: model.id });
      let leased: LeaseResult;
      try {
        leased = await this.leaseOrWait(this.leaseRequest(provider, model, tried, tags), signal, n === 0, leaseSpan);
      } catch (err) {
        endFailed(leaseSpan, signal.aborted ? 'aborted' : 'lease_failed');
        throw err;
      }
      if (!leased.ok) {
        endFailed(leaseSpan, leased.reason, { [ATTR.leaseResult]: leased.reason });
        return { ok: false, error: this.exhausted(model, leased.reason, leased.retryAfterMs, lastError) };
      }
      const lease: Lease = { ...leased.lease, provider };
      leaseSpan?.setAttributes({ [ATTR.leaseResult]: 'ok', [ATTR.account]: lease.accountId, [ATTR.mode]: lease.mode });
      leaseSpan?.end();
      noteLeaseProvider(lease.accountId, provider);
      const release = async (outcome: Outcome) => {
        await this.store.report(lease.leaseId, outcome, this.policy());
        if (outcome.kind === 'failure' && outcome.effect === 'invalid') this.alerts?.accountInvalid();
        this.queue?.released();
      };
      // Traced: one span per try (the anti-bot retry is a second one); the one that succeeded lasts
      // until the turn's outcome is reported (a stream's end).
      let live: Span | undefined;
      const traced: Attempt<T> = async (l) => {
        const span = startSpan('upstream.attempt', {
          [ATTR.provider]: provider,
          [ATTR.account]: l.accountId,
          [ATTR.mode]: l.mode,
          [ATTR.retryNumber]: trail.count++,
          [ATTR.retryKind]: trail.next,
        });
        trail.next = 'anti_bot';
        try {
          const value = await withSpan(span, () => attempt(l));
          live = span;
          return value;
        } catch (err) {
          const failureClass = signal.aborted ? 'aborted' : err instanceof UpstreamError ? (err.code ?? 'unknown') : 'internal';
          endFailed(span, failureClass, { [ATTR.failureClass]: failureClass, ...(err instanceof UpstreamError ? { [ATTR.upstreamStatus]: err.upstreamStatus } : {}) });
          throw err;
        }
      };
      try {
        const value = await this.attemptWithAntiBotRetry(lease, leaseSpan ? traced : attempt, signal);
        upstreamAttempts.inc({ provider, result: 'ok' });
        return { ok: true, acquired: { value, lease, release: live ? endingSpan(live, release) : release } };
      } catch (err) {
        if (signal.aborted) {
          upstreamAttempts.inc({ provider, result: 'aborted' });
          await release({ kind: 'aborted' });
          throw err;
        }
        const failure = err instanceof UpstreamError ? err : null;
        upstreamAttempts.inc({ provider, result: failure ? (failure.code ?? 'unknown') : 'internal' });
        await release(failureOutcome(err));
        if (!failure) throw err;
        this.log.warn(
          { account: lease.accountId, provider, mode: lease.mode, code: failure.code, upstreamStatus: failure.upstreamStatus, disposition: failure.disposition },
          'upstream attempt failed',
        );
        lastError = failure;
        if (failure.disposition === 'fail') throw failure;
        if (Date.now() >= deadline) break;
        if (failure.disposition === 'retry-other') tried.push(lease.accountId);
        trail.next = failure.disposition === 'retry-other' ? 'other_account' : 'same_account';
        if (n + 1 < cfg.retry.max_attempts) (failure.disposition === 'retry-other' ? upstreamFailovers : upstreamRetries).inc({ provider, class: failure.code ?? 'unknown' });
      }
    }
    if (!lastError) throw errors.internal();
    // Every attempt was rate-limited: that is the pool being exhausted, with a known wait.
    if (lastError.status === 429) return { ok: false, error: errors.noAvailableTokens(Math.max(1, Math.ceil((lastError.retryAfterMs ?? 1000) / 1000))) };
    return { ok: false, error: lastError };
  }

  /**
   * Runs the attempt; after grok.com's anti-bot refusal (code 7, not a Cloudflare challenge, which
   * the transport already handles) refreshes the identity and tries once more on the same account
   * before the pool moves on: the refusal is about the request's fingerprint, not the account.
   * The statsig id is new on every request anyway.
   */
  private async attemptWithAntiBotRetry<T>(lease: Lease, attempt: Attempt<T>, signal: AbortSignal): Promise<T> {
    try {
      return await attempt(lease);
    } catch (err) {
      const provider = lease.provider ?? 'grok';
      if (!(err instanceof UpstreamError) || !this.antiBot?.matches(provider, err) || signal.aborted) throw err;
      this.antiBotRetries++;
      upstreamAttempts.inc({ provider, result: err.code ?? 'unknown' });
      upstreamRetries.inc({ provider, class: err.code ?? 'unknown' });
      this.log.warn({ account: lease.accountId, provider }, 'anti-bot refusal: refreshing the identity and retrying once on the same account');
      await this.antiBot.refresh(provider, lease.token).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'identity refresh failed'));
      return attempt(lease);
    }
  }

  /** Same-account retries after an anti-bot refusal since start (shown with the egress status). */
  antiBotRetries = 0;

  /** The error for "no account could be leased", given what earlier attempts ran into. */
  private exhausted(model: ModelSpec, reason: 'no_accounts' | 'none_available', retryAfterMs: number | null, last: UpstreamError | null): AppError {
    if (reason === 'no_accounts') return last ?? errors.noAccounts(model.tier);
    // Only accounts already tried are left: their failure says more than "busy".
    if (last && last.status !== 429 && retryAfterMs === null) return last;
    const ms = retryAfterMs ?? last?.retryAfterMs ?? 1000;
    return errors.noAvailableTokens(Math.max(1, Math.ceil(ms / 1000)));
  }
}

/** A release that first ends the successful attempt's span with the turn's outcome (once). */
function endingSpan(span: Span, release: (o: Outcome) => Promise<void>): (o: Outcome) => Promise<void> {
  let ended = false;
  return (outcome) => {
    if (!ended) {
      ended = true;
      span.setAttribute(ATTR.outcome, outcome.kind);
      // The failure's class only (the message before its first colon is the error code).
      if (outcome.kind === 'failure') {
        const failureClass = outcome.message.split(':')[0] ?? 'failure';
        endFailed(span, failureClass, { [ATTR.failureClass]: failureClass });
      } else span.end();
    }
    return release(outcome);
  };
}

/** What a failed attempt tells the store about the account. */
export function failureOutcome(err: unknown): Outcome {
  if (err instanceof UpstreamError) {
    const outcome: Outcome = { kind: 'failure', effect: err.effect, retryAfterMs: err.retryAfterMs, message: `${err.code}: ${err.message}` };
    if (err.quality) outcome.quality = err.quality;
    return outcome;
  }
  return { kind: 'failure', effect: 'none', message: 'internal error' };
}
