/**
 * Alert webhooks (`[alerts]`): a POST to `alerts.webhook_url` when the pool is exhausted (a request
 * found no account to serve it), accounts become invalid, usable accounts fall under
 * `alerts.min_usable_accounts`, or the known quota left in a mode falls under `alerts.min_quota_left`.
 *
 * Nothing here runs on a request's path: the pool only calls the synchronous `poolExhausted` and
 * `accountInvalid`, which queue the work; the store calls and the delivery happen afterwards, and
 * their failures are logged, never thrown. Each kind is sent at most once per
 * `alerts.min_interval_sec` (events in between are counted and mentioned in the next one), with at
 * most `alerts.max_retries` retries per alert, each bounded by `alerts.timeout_sec`.
 *
 * Several instances on one shared store (Redis, PostgreSQL, MySQL) agree on who sends: the
 * "last sent" time of each kind and the accounts already reported invalid are meta values of the
 * store, read and written under the store's lock named after the kind. The instance that takes
 * the lock first sends; the others see the fresh time and hold back. This is best effort: when the
 * store cannot be reached, an instance falls back to its own memory (and may then send what another
 * instance sent too), and a receiver that is slow past the lock's TTL could see a second send.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { alertsTotal } from '../metrics/registry.js';
import { settleAccount, cloneAccount } from '../store/account-rules.js';
import type { Account, Store } from '../store/types.js';
import { renderAlert, type Alert, type AlertKind } from './format.js';

/** At most this many invalid account ids are remembered as "already reported" (the meta value stays small). */
const MAX_SEEN = 2000;
/** How long one instance may hold a kind's lock while deciding (the decision is two meta calls). */
const LOCK_TTL_MS = 10_000;
const metaLast = (kind: AlertKind) => `alerts.last_sent.${kind}`;
const META_INVALID_SEEN = 'alerts.invalid_seen';

/** What the pool tells the alerts about a refused request. */
export interface PoolExhaustion {
  model: string;
  /** `no_available_tokens` (all busy, cooling or spent) or `no_accounts` (none that could serve it). */
  code: string;
}

export interface AlertOptions {
  /** Name of this instance in the alert (default host:pid). */
  instance?: string;
  now?: () => number;
}

export class AlertManager {
  private readonly instance: string;
  private readonly now: () => number;
  /** Per kind: when this instance last knew an alert of it to be sent (here or elsewhere). */
  private readonly lastSent = new Map<AlertKind, number>();
  /** Per kind: events held back since the last send. */
  private readonly held = new Map<AlertKind, number>();
  /** Exhaustions by model since the last pool_exhausted alert. */
  private exhaustedModels = new Map<string, { count: number; code: string }>();
  private exhaustionPending = false;
  private checkTimer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | null = null;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly closing = new AbortController();
  /** Deliveries made, by result (tests and the log read it). */
  readonly sent = { ok: 0, failed: 0 };

  constructor(
    private readonly store: Store,
    private readonly config: () => Config,
    private readonly log: Logger,
    opts: AlertOptions = {},
  ) {
    this.instance = opts.instance ?? `${hostname()}:${process.pid}`;
    this.now = opts.now ?? Date.now;
  }

  private get enabled(): boolean {
    return this.config().alerts.webhook_url !== '';
  }

  /** Starts the periodic threshold check (alerts.check_interval_sec); a no-op check while no webhook is set. */
  start(): void {
    const tick = () => {
      if (this.closing.signal.aborted) return;
      this.checkTimer = setTimeout(() => {
        this.track(this.check()).finally(tick);
      }, this.config().alerts.check_interval_sec * 1000);
      this.checkTimer.unref();
    };
    tick();
  }

  /** Stops the checks and abandons deliveries still running (their retries stop at once). */
  async close(): Promise<void> {
    clearTimeout(this.checkTimer);
    clearTimeout(this.soonTimer);
    this.closing.abort();
    await Promise.allSettled([...this.inflight]);
  }

  /** Waits until every queued check and delivery has finished (tests). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private track<T>(p: Promise<T>): Promise<T | undefined> {
    const guarded = p.catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'alerts: check failed');
      return undefined;
    });
    this.inflight.add(guarded);
    void guarded.finally(() => this.inflight.delete(guarded));
    return guarded;
  }

  /** A request found no account to serve it. Synchronous and cheap: called on the request path. */
  poolExhausted(e: PoolExhaustion): void {
    if (!this.enabled) return;
    const m = this.exhaustedModels.get(e.model) ?? { count: 0, code: e.code };
    m.count++;
    m.code = e.code;
    this.exhaustedModels.set(e.model, m);
    // Within the interval this instance knows of a recent send: only count (no store call per refused request).
    const last = this.lastSent.get('pool_exhausted');
    if (last !== undefined && this.now() - last < this.config().alerts.min_interval_sec * 1000) {
      alertsTotal.inc({ kind: 'pool_exhausted', result: 'held' });
      return;
    }
    if (this.exhaustionPending) return;
    this.exhaustionPending = true;
    void this.track(this.sendExhaustion());
  }

  /** An account was just reported invalid: look at the pool soon (the check diffs against what was already reported). */
  accountInvalid(): void {
    if (!this.enabled || this.soonTimer) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.track(this.check());
    }, 200);
    this.soonTimer.unref();
  }

  private async sendExhaustion(): Promise<void> {
    try {
      if (this.exhaustedModels.size === 0) return;
      const claimed = await this.claim('pool_exhausted');
      if (!claimed) {
        alertsTotal.inc({ kind: 'pool_exhausted', result: 'held' });
        return;
      }
      // Taken after the claim, so refusals counted while it ran are in this alert, not the next.
      const models = this.exhaustedModels;
      this.exhaustedModels = new Map();
      const total = [...models.values()].reduce((n, m) => n + m.count, 0);
      const list = [...models.entries()].map(([model, m]) => ({ model, requests: m.count, code: m.code }));
      const names = list.map((m) => `${m.model} (${m.requests}, ${m.code})`).join(', ');
      await this.deliver({
        kind: 'pool_exhausted',
        severity: 'critical',
        title: 'The account pool is exhausted',
        message: `${total} request(s) found no account to serve them: ${names}. Accounts are busy, cooling, out of quota or invalid; add accounts or wait for their quota to reset.`,
        details: { requests: total, models: list },
        at: this.now(),
        suppressed: Math.max(0, total - 1),
      });
    } finally {
      this.exhaustionPending = false;
    }
  }

  /** Looks at the pool: new invalid accounts, usable accounts, quota left. One check at a time. */
  check(): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    this.checking ??= this.runCheck().finally(() => (this.checking = null));
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    const a = this.config().alerts;
    const now = this.now();
    const accounts = (await this.store.listAccounts()).map((acc) => {
      const c = cloneAccount(acc);
      settleAccount(c, now);
      return c;
    });
    await this.checkInvalid(accounts);
    const usable = accounts.filter((acc) => acc.status === 'active');
    if (a.min_usable_accounts > 0 && usable.length < a.min_usable_accounts) {
      const byStatus = countBy(accounts.map((acc) => acc.status));
      await this.fire({
        kind: 'usable_accounts_low',
        severity: usable.length === 0 ? 'critical' : 'warning',
        title: `Usable accounts: ${usable.length}, under ${a.min_usable_accounts}`,
        message: `${usable.length} account(s) can take requests now, fewer than alerts.min_usable_accounts (${a.min_usable_accounts}). Of ${accounts.length}: ${describe(byStatus)}.`,
        details: { usable: usable.length, threshold: a.min_usable_accounts, total: accounts.length, by_status: byStatus },
      });
    }
    if (a.min_quota_left > 0) {
      const left = quotaLeft(usable);
      const low = Object.entries(left).filter(([, n]) => n < a.min_quota_left);
      if (low.length > 0) {
        await this.fire({
          kind: 'quota_low',
          severity: low.some(([, n]) => n === 0) ? 'critical' : 'warning',
          title: `Quota left is low: ${low.map(([m, n]) => `${m} ${n}`).join(', ')}`,
          message: `The known quota left over usable accounts is under alerts.min_quota_left (${a.min_quota_left}) for ${low.map(([m, n]) => `${m} (${n} left)`).join(', ')}. It refills when the accounts' windows reset.`,
          details: { threshold: a.min_quota_left, quota_left: left, low: Object.fromEntries(low) },
        });
      }
    }
  }

  /** Reports accounts that became invalid since the last report (on any instance sharing the store). */
  private async checkInvalid(accounts: Account[]): Promise<void> {
    const invalid = accounts.filter((acc) => acc.status === 'invalid');
    const now = this.now();
    const interval = this.config().alerts.min_interval_sec * 1000;
    let fresh: Account[] = [];
    const decide = async (): Promise<Account[]> => {
      const raw = await this.store.getMeta(META_INVALID_SEEN);
      const seen = new Set<string>(raw ? (JSON.parse(raw) as string[]) : []);
      const newly = invalid.filter((acc) => !seen.has(acc.id));
      // Forget accounts no longer invalid (re-enabled or deleted): if they die again, that is news.
      const keep = invalid.filter((acc) => seen.has(acc.id)).map((acc) => acc.id);
      if (newly.length === 0) {
        if (keep.length !== seen.size) await this.store.setMeta(META_INVALID_SEEN, JSON.stringify(keep));
        return [];
      }
      const last = Number((await this.store.getMeta(metaLast('account_invalid'))) ?? 0);
      if (now - last < interval) {
        // Held back: they stay unseen, so the first check after the interval reports them.
        alertsTotal.inc({ kind: 'account_invalid', result: 'held' });
        this.lastSent.set('account_invalid', last);
        if (keep.length !== seen.size) await this.store.setMeta(META_INVALID_SEEN, JSON.stringify(keep));
        return [];
      }
      await this.store.setMeta(metaLast('account_invalid'), String(now));
      await this.store.setMeta(META_INVALID_SEEN, JSON.stringify([...keep, ...newly.map((acc) => acc.id)].slice(-MAX_SEEN)));
      return newly;
    };
    try {
      const res = await this.store.withLock('alerts:account_invalid', LOCK_TTL_MS, decide);
      if (!res.ok) return; // another instance is looking at the same accounts right now
      fresh = res.value;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'alerts: the store did not answer; invalid accounts are not reported this time');
      return;
    }
    if (fresh.length === 0) return;
    this.lastSent.set('account_invalid', now);
    const shown = fresh.slice(0, 20);
    await this.deliver({
      kind: 'account_invalid',
      severity: 'warning',
      title: fresh.length === 1 ? `Account ${fresh[0]!.id} became invalid` : `${fresh.length} accounts became invalid`,
      message: `${shown.map((acc) => `${acc.id} (${acc.kind ?? 'grok'}): ${acc.lastError ?? 'no reason recorded'}`).join('; ')}${fresh.length > shown.length ? `; and ${fresh.length - shown.length} more` : ''}. Re-import or fix the token, then set the account active again, or delete invalid accounts (POST /admin/api/tokens/delete-by-status).`,
      details: {
        accounts: shown.map((acc) => ({ id: acc.id, kind: acc.kind ?? 'grok', last_error: acc.lastError, last_error_at: acc.lastErrorAt ? new Date(acc.lastErrorAt).toISOString() : null })),
        count: fresh.length,
        invalid_total: invalid.length,
      },
      at: now,
      suppressed: 0,
    });
  }

  /** Sends a threshold alert unless one of its kind went out within the interval (here or on another instance). */
  private async fire(alert: Omit<Alert, 'at' | 'suppressed'>): Promise<void> {
    if (!(await this.claim(alert.kind))) {
      alertsTotal.inc({ kind: alert.kind, result: 'held' });
      this.held.set(alert.kind, (this.held.get(alert.kind) ?? 0) + 1);
      return;
    }
    const suppressed = this.held.get(alert.kind) ?? 0;
    this.held.delete(alert.kind);
    await this.deliver({ ...alert, at: this.now(), suppressed });
  }

  /**
   * Whether this instance may send an alert of `kind` now: none sent within the interval, as this
   * instance remembers it and as the store's "last sent" marker says; taking it moves the marker.
   */
  private async claim(kind: AlertKind): Promise<boolean> {
    const now = this.now();
    const interval = this.config().alerts.min_interval_sec * 1000;
    const known = this.lastSent.get(kind);
    if (known !== undefined && now - known < interval) return false;
    try {
      const res = await this.store.withLock(`alerts:${kind}`, LOCK_TTL_MS, async () => {
        const last = Number((await this.store.getMeta(metaLast(kind))) ?? 0);
        if (now - last < interval) return last;
        await this.store.setMeta(metaLast(kind), String(now));
        return null;
      });
      if (!res.ok) return false; // another instance is sending this kind right now
      this.lastSent.set(kind, res.value ?? now);
      return res.value === null;
    } catch (err) {
      // No shared memory to ask: this instance's own memory decides (another may send it too).
      this.log.warn({ err: (err as Error).message, kind }, 'alerts: the store did not answer; deciding on this instance alone');
      this.lastSent.set(kind, now);
      return true;
    }
  }

  /** POSTs the alert, retrying network errors, 429 and 5xx up to alerts.max_retries times. Never throws. */
  private async deliver(alert: Alert): Promise<boolean> {
    const a = this.config().alerts;
    const body = JSON.stringify(renderAlert(alert, a.format, this.instance));
    let problem = '';
    for (let attempt = 0; attempt <= a.max_retries; attempt++) {
      if (this.closing.signal.aborted) break;
      if (attempt > 0) await sleep(Math.min(30_000, a.retry_delay_sec * 1000 * 2 ** (attempt - 1)), this.closing.signal);
      try {
        const res = await fetch(a.webhook_url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'grok2api-alerts' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(a.timeout_sec * 1000), this.closing.signal]),
        });
        await res.body?.cancel().catch(() => {});
        if (res.ok) {
          this.sent.ok++;
          alertsTotal.inc({ kind: alert.kind, result: 'sent' });
          this.log.info({ kind: alert.kind, attempt: attempt + 1 }, 'alert sent');
          return true;
        }
        problem = `HTTP ${res.status}`;
        // A 4xx other than 429 will not change on a retry (wrong URL, refused body).
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        problem = (err as Error).name === 'TimeoutError' ? `no answer within ${a.timeout_sec} s` : (err as Error).message;
      }
    }
    this.sent.failed++;
    alertsTotal.inc({ kind: alert.kind, result: 'failed' });
    this.log.warn({ kind: alert.kind, problem }, 'alert not delivered');
    return false;
  }
}

/** Known quota left per mode over the given (settled) accounts; modes nobody has a window for are left out. */
export function quotaLeft(accounts: Account[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const acc of accounts) for (const [mode, q] of Object.entries(acc.quotas)) out[mode] = (out[mode] ?? 0) + Math.max(0, q.remaining);
  return out;
}

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

const describe = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ') || 'none at all';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
