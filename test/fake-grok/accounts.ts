import { createHash } from 'node:crypto';
import type { AccountBehavior, QuotaView, Tier } from './types.js';

/**
 * Quota totals per tier and mode, and the window length, as grok.com reports them on
 * /rest/rate-limits. `build` (accepted since 2026-08-23) has a window of its own: 10 per two hours
 * is what was reported for basic accounts; the fake gives every tier that.
 */
const TIER_QUOTAS: Record<Tier, { windowSeconds: number; modes: Record<string, number> }> = {
  basic: { windowSeconds: 86_400, modes: { fast: 30, build: 10 } },
  super: { windowSeconds: 7_200, modes: { auto: 50, fast: 140, expert: 50, 'grok-420-computer-use-sa': 50, build: 10 } },
  heavy: {
    windowSeconds: 7_200,
    modes: { auto: 150, fast: 400, expert: 150, heavy: 20, 'grok-420-computer-use-sa': 150, build: 10 },
  },
};
/** Modes whose window length is their own, not the tier's. */
const MODE_WINDOW_SECONDS: Record<string, number> = { build: 7_200 };

/** The imagine groups of `/rest/media/imagine/quota_info` (per day; the fake's own figures; null = not offered). */
export type ImagineGroup = 'image' | 'imagePro' | 'imageEdit' | 'video' | 'video720p';
export const IMAGINE_GROUPS: readonly ImagineGroup[] = ['image', 'imagePro', 'imageEdit', 'video', 'video720p'];
const IMAGINE_QUOTAS: Record<Tier, Record<ImagineGroup, number | null>> = {
  basic: { image: 40, imagePro: 10, imageEdit: 20, video: 10, video720p: 5 },
  super: { image: 200, imagePro: 50, imageEdit: 100, video: 50, video720p: 30 },
  heavy: { image: 500, imagePro: 150, imageEdit: 300, video: 150, video720p: 100 },
};
const IMAGINE_WINDOW_SECONDS = 86_400;

const DEFAULT_BEHAVIOR: AccountBehavior = { state: 'valid', tier: 'basic' };

interface QuotaWindow {
  remaining: number;
  total: number;
  windowSeconds: number;
  startedAt: number;
}

export interface AccountRecord {
  token: string;
  behavior: AccountBehavior;
  /** Stable per-token id used in file URIs, like grok.com's user id. */
  userId: string;
  quotas: Map<string, QuotaWindow>;
}

export function modeAllowed(tier: Tier, mode: unknown): mode is string {
  return typeof mode === 'string' && Object.hasOwn(TIER_QUOTAS[tier].modes, mode);
}

/** Accounts, their per-mode quota windows and open-chat counters. */
export class AccountBook {
  private accounts = new Map<string, AccountRecord>();
  // Open-chat counters live outside `accounts` so reset() cannot make a stream still running count negative.
  private active = new Map<string, number>();
  private highWater = new Map<string, number>();

  /** Unknown tokens are valid basic accounts, created on first sight. */
  get(token: string): AccountRecord {
    let acct = this.accounts.get(token);
    if (!acct) {
      const userId = createHash('sha256').update(token).digest('hex').slice(0, 12);
      acct = { token, behavior: { ...DEFAULT_BEHAVIOR }, userId, quotas: new Map() };
      this.accounts.set(token, acct);
    }
    return acct;
  }

  set(token: string, patch: Partial<AccountBehavior>): void {
    const acct = this.get(token);
    const next: AccountBehavior = { ...acct.behavior };
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
    // Totals depend on the tier, so a tier change starts fresh windows.
    if (next.tier !== acct.behavior.tier) acct.quotas.clear();
    acct.behavior = next;
  }

  /** The live window for a mode the tier has (rolled over when expired); null when the tier lacks the mode. */
  window(token: string, mode: string, now = Date.now()): QuotaWindow | null {
    const acct = this.get(token);
    const tierQuota = TIER_QUOTAS[acct.behavior.tier];
    if (!modeAllowed(acct.behavior.tier, mode)) return null;
    let w = acct.quotas.get(mode);
    if (!w || now >= w.startedAt + w.windowSeconds * 1000) {
      const total = acct.behavior.quotaTotals?.[mode] ?? tierQuota.modes[mode]!;
      w = { remaining: total, total, windowSeconds: MODE_WINDOW_SECONDS[mode] ?? tierQuota.windowSeconds, startedAt: now };
      acct.quotas.set(mode, w);
    }
    return w;
  }

  /** Seconds until the mode's window refills (at least 1). */
  secondsToRefill(token: string, mode: string, now = Date.now()): number {
    const w = this.window(token, mode, now);
    if (!w) return 1;
    return Math.max(1, Math.ceil((w.startedAt + w.windowSeconds * 1000 - now) / 1000));
  }

  /** An imagine group's window (null when the tier is not offered it). */
  imagineWindow(token: string, group: ImagineGroup, now = Date.now()): QuotaWindow | null {
    const acct = this.get(token);
    const total = IMAGINE_QUOTAS[acct.behavior.tier][group];
    if (total === null) return null;
    const key = `imagine:${group}`;
    let w = acct.quotas.get(key);
    if (!w || now >= w.startedAt + w.windowSeconds * 1000) {
      w = { remaining: total, total, windowSeconds: IMAGINE_WINDOW_SECONDS, startedAt: now };
      acct.quotas.set(key, w);
    }
    return w;
  }

  /** One image round, edit or video costs one of its group. */
  consumeImagine(token: string, group: ImagineGroup): void {
    const w = this.imagineWindow(token, group);
    if (w && w.remaining > 0) w.remaining -= 1;
  }

  /** One finished turn costs one query. */
  consume(token: string, mode: string): void {
    const w = this.window(token, mode);
    if (w && w.remaining > 0) w.remaining -= 1;
  }

  quota(token: string, mode: string): QuotaView {
    const w = this.window(token, mode);
    if (w) return { remaining: w.remaining, total: w.total, windowSeconds: w.windowSeconds };
    return { remaining: 0, total: 0, windowSeconds: TIER_QUOTAS[this.get(token).behavior.tier].windowSeconds };
  }

  chatOpened(token: string): void {
    const n = (this.active.get(token) ?? 0) + 1;
    this.active.set(token, n);
    if (n > (this.highWater.get(token) ?? 0)) this.highWater.set(token, n);
  }

  chatClosed(token: string): void {
    const n = (this.active.get(token) ?? 0) - 1;
    if (n > 0) this.active.set(token, n);
    else this.active.delete(token);
  }

  activeChats(token?: string): number {
    if (token !== undefined) return this.active.get(token) ?? 0;
    let sum = 0;
    for (const n of this.active.values()) sum += n;
    return sum;
  }

  maxConcurrentChats(token: string): number {
    return this.highWater.get(token) ?? 0;
  }

  reset(): void {
    this.accounts.clear();
    // Streams still open keep counting; the high-water mark restarts from them.
    this.highWater = new Map(this.active);
  }

  /** JSON view for GET /__fake/state. */
  snapshot(): Record<string, unknown> {
    const tokens = new Set([...this.accounts.keys(), ...this.active.keys()]);
    const out: Record<string, unknown> = {};
    for (const token of tokens) {
      const acct = this.get(token);
      const quotas: Record<string, QuotaView> = {};
      for (const mode of Object.keys(TIER_QUOTAS[acct.behavior.tier].modes)) quotas[mode] = this.quota(token, mode);
      out[token] = {
        ...acct.behavior,
        userId: acct.userId,
        quotas,
        activeChats: this.activeChats(token),
        maxConcurrentChats: this.maxConcurrentChats(token),
      };
    }
    return out;
  }
}
