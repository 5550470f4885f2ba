/**
 * Keeps each account's quota windows and tier in step with grok.com (docs/api-contract.md
 * §11): at import, on a schedule (token.refresh_interval_hours for basic accounts,
 * super_refresh_interval_hours for super/heavy), and once a window should have refilled. One
 * instance syncs a given account at a time (a store lock); a tick handles a bounded, shuffled
 * batch with bounded concurrency, and instances tick at random offsets, so syncs spread out.
 */
import type { Logger } from 'pino';
import type { AccountUpstream, MediaQuotaWindow as ImagineWindow, QuotaWindow as RateLimitWindow } from '../upstream/types.js';
import type { Config } from '../config/schema.js';
import type { Tier } from '../core/models.js';
import { UpstreamError } from '../errors.js';
import { mapLimit } from '../lib/map-limit.js';
import { kindOf, type Account, type ModeQuota, type Store } from '../store/types.js';

export interface SyncResult {
  id: string;
  ok: boolean;
  tier?: Tier;
  status?: string;
  quotas?: Record<string, { remaining: number; total: number; window_seconds: number }>;
  /** Why it failed or was skipped. */
  error?: string;
}

export interface QuotaSyncOptions {
  /** Scheduler tick (default 60 s). */
  tickMs?: number;
  /** Most accounts one tick syncs (default 200). */
  batch?: number;
}

const metaKey = (id: string) => `quota_sync:${id}`;
/** Longest one account's sync may hold its lock. */
const LOCK_TTL_MS = 60_000;

export class QuotaSync {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly store: Store,
    /** grok.com's account upstream (quota windows are grok.com's). */
    private readonly grok: AccountUpstream,
    private readonly config: () => Config,
    private readonly log: Logger,
    private readonly opts: QuotaSyncOptions = {},
  ) {}

  /** Syncs the given accounts (all when none are given), `token.refresh_concurrency` at a time. */
  async syncMany(ids?: string[]): Promise<SyncResult[]> {
    const list = ids ?? (await this.store.listAccounts()).map((a) => a.id);
    return mapLimit(list, this.config().token.refresh_concurrency, (id) => this.syncAccount(id));
  }

  /**
   * Syncs one account under its lock. With `dueBefore`, skips it when another instance synced
   * it after that time (the scheduler's double check once the lock is held).
   */
  async syncAccount(id: string, dueBefore?: number): Promise<SyncResult> {
    let res: { ok: true; value: SyncResult } | { ok: false };
    try {
      res = await this.store.withLock(`quota-sync:${id}`, LOCK_TTL_MS, async () => {
        if (dueBefore !== undefined) {
          const last = Number((await this.store.getMeta(metaKey(id))) ?? 0);
          if (last > dueBefore) return { id, ok: true, error: 'synced meanwhile by another instance' };
        }
        const acc = await this.store.getAccount(id);
        if (!acc) return { id, ok: false, error: 'no such account' };
        // Quota windows are grok.com's; an xAI key is limited by its rate-limit headers and credits.
        if (kindOf(acc) !== 'grok') return { id, ok: true, error: 'not a grok.com account: nothing to sync' };
        return this.syncLocked(acc);
      });
    } catch (err) {
      return { id, ok: false, error: (err as Error).message };
    }
    return res.ok ? res.value : { id, ok: false, error: 'a sync of this account is already running' };
  }

  private async syncLocked(acc: Account): Promise<SyncResult> {
    const cfg = this.config();
    const fetch = (mode: string) => this.grok.quota(acc.token, mode);
    const windows: Record<string, RateLimitWindow | null> = {};
    try {
      // Every tier has "fast" and only heavy accounts "heavy": together they tell the tier, which
      // tells the other modes to ask for.
      [windows.fast, windows.heavy] = await Promise.all([fetch('fast'), fetch('heavy')]);
      const guess = this.grok.inferTier(windows) ?? acc.tier;
      const tierModes = { basic: cfg.token.basic_modes, super: cfg.token.super_modes, heavy: cfg.token.heavy_modes };
      const rest = tierModes[guess].filter((m) => m !== 'fast' && m !== 'heavy');
      const more = await Promise.all(rest.map((m) => fetch(m)));
      rest.forEach((m, i) => (windows[m] = more[i]!));
    } catch (err) {
      if (err instanceof UpstreamError && err.effect === 'invalid') {
        await this.store.markInvalid(acc.id, `${err.code}: ${err.message}`);
        this.log.warn({ account: acc.id }, 'quota sync: credentials rejected, account marked invalid');
        return { id: acc.id, ok: false, status: 'invalid', error: err.message };
      }
      this.log.warn({ account: acc.id, err: (err as Error).message }, 'quota sync failed');
      return { id: acc.id, ok: false, status: acc.status, error: (err as Error).message };
    }
    const tier = this.grok.inferTier(windows) ?? acc.tier;
    const now = Date.now();
    const quotas: Record<string, ModeQuota> = {};
    for (const [mode, w] of Object.entries(windows)) {
      if (!w) continue;
      // A partly used window refills at most one window length from now; a full one has no pending reset.
      quotas[mode] = { remaining: w.remaining, total: w.total, windowSeconds: w.windowSeconds, resetAt: w.remaining < w.total ? now + w.windowSeconds * 1000 : null };
    }
    Object.assign(quotas, await this.imagineQuotas(acc, cfg, now));
    await this.store.setQuotas(acc.id, quotas, tier);
    await this.store.setMeta(metaKey(acc.id), String(now));
    return {
      id: acc.id,
      ok: true,
      tier,
      status: acc.status,
      quotas: Object.fromEntries(Object.entries(quotas).map(([m, q]) => [m, { remaining: q.remaining, total: q.total, window_seconds: q.windowSeconds }])),
    };
  }

  /**
   * The imagine windows (images, pro images, edits, videos), kept beside the chat windows for the
   * admin view. grok.com reports no totals there, so the largest remainder seen stands for one.
   * Best effort: when the call fails, the windows known before stay.
   */
  private async imagineQuotas(acc: Account, cfg: Config, now: number): Promise<Record<string, ModeQuota>> {
    let windows: Record<string, ImagineWindow>;
    try {
      windows = await this.grok.mediaQuota(acc.token);
    } catch (err) {
      this.log.warn({ account: acc.id, err: (err as Error).message }, 'quota sync: imagine quota not read');
      return Object.fromEntries(Object.entries(acc.quotas).filter(([k]) => k.startsWith('imagine:')));
    }
    const out: Record<string, ModeQuota> = {};
    for (const [key, w] of Object.entries(windows)) {
      const total = Math.max(w.remaining, acc.quotas[key]?.total ?? 0);
      const refill = w.remaining < total && w.windowSeconds > 0 ? now + w.windowSeconds * 1000 : null;
      out[key] = { remaining: w.remaining, total, windowSeconds: w.windowSeconds, resetAt: w.nextAvailableAt ?? refill };
    }
    return out;
  }

  /** Starts the background schedule (no-op unless token.auto_refresh). First tick at a random offset. */
  start(): void {
    if (this.timer) return;
    const tick = this.opts.tickMs ?? 60_000;
    const first = Math.floor(Math.random() * tick);
    this.timer = setTimeout(() => {
      void this.tick();
      this.timer = setInterval(() => void this.tick(), tick);
      this.timer.unref();
    }, first);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One scheduler round: finds due accounts and syncs a shuffled, bounded batch of them. */
  async tick(): Promise<SyncResult[]> {
    const cfg = this.config();
    if (!cfg.token.auto_refresh || this.running) return [];
    this.running = true;
    try {
      const now = Date.now();
      const due: { id: string; dueBefore: number }[] = [];
      for (const acc of await this.store.listAccounts()) {
        if ((acc.status !== 'active' && acc.status !== 'cooling') || kindOf(acc) !== 'grok') continue;
        const last = Number((await this.store.getMeta(metaKey(acc.id))) ?? 0);
        const hours = acc.tier === 'basic' ? cfg.token.refresh_interval_hours : cfg.token.super_refresh_interval_hours;
        const stale = now - last >= hours * 3_600_000;
        // A window that should have refilled since the last sync: confirm the new numbers.
        const reset = Object.values(acc.quotas).some((q) => q.resetAt !== null && q.resetAt <= now && q.resetAt > last);
        if (stale || reset) due.push({ id: acc.id, dueBefore: stale ? now - hours * 3_600_000 : now - 1 });
      }
      for (let i = due.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [due[i], due[j]] = [due[j]!, due[i]!];
      }
      const batch = due.slice(0, this.opts.batch ?? 200);
      return await mapLimit(batch, cfg.token.refresh_concurrency, (d) => this.syncAccount(d.id, d.dueBefore));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'quota sync round failed');
      return [];
    } finally {
      this.running = false;
    }
  }
}
