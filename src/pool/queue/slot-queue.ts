/**
 * Waiting for a concurrency slot instead of an instant 429. When every eligible account is at its
 * cap, a request joins the queue of its lease class (same provider, modes, tier and tags) and
 * waits, first come first served, until a slot frees, it times out (`token.queue_timeout_sec`) or
 * its client leaves. Only the oldest few waiters of a class (WINDOW) try to lease, so a request is
 * never overtaken by one that arrived more than WINDOW places later, on any instance sharing the
 * backend; newcomers queue behind waiters rather than taking a freed slot first. Releases and departures notify
 * every instance; a periodic re-check covers lost messages and releases a backend cannot announce.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { LeaseRequest, LeaseResult } from '../../store/types.js';
import type { QueueBackend } from './backend.js';

/** How often waiting heads re-check without a notification. */
const RECHECK_MS = 100;
/** A waiter stays in the backend this long past its own deadline, then anyone drops it. */
const EXPIRY_MARGIN_MS = 5000;
/**
 * How many of the oldest waiters of a queue try to lease at once. One would be strict order, but
 * then every hand-over (lease, leave, notify, next head reads the queue) is serial and caps the
 * queue at a few dozen leases a second; a few at once keep freed slots busy while a request is
 * overtaken by at most WINDOW - 1 earlier ones, never by a later arrival beyond that window.
 */
export const WINDOW = 8;

/** What a wait ended with: a lease result to act on, or why there was none. */
export type WaitResult = { kind: 'leased'; result: LeaseResult } | { kind: 'timeout' } | { kind: 'full' };

/** A lease failure that only the concurrency cap caused: worth waiting for. */
export const onlyCapBlocks = (r: LeaseResult): boolean => !r.ok && r.reason === 'none_available' && r.retryAfterMs === null;

interface Waiter {
  woken: boolean;
  wake: () => void;
}

export class SlotQueue {
  /** This instance's waiters, by queue and id. */
  private readonly waiters = new Map<string, Map<string, Waiter>>();
  private checking = false;
  private checkAgain = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly backend: QueueBackend, private readonly log: Logger) {}

  async init(): Promise<void> {
    await this.backend.onNotify(() => this.check());
    this.timer = setInterval(() => this.waiters.size > 0 && this.check(), RECHECK_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** The queue a lease request waits in: requests that the same accounts could serve. */
  static queueFor(req: LeaseRequest): string {
    const cls = JSON.stringify([req.provider ?? 'grok', req.minTier, req.modes, req.tags ?? null]);
    return createHash('sha256').update(cls).digest('hex').slice(0, 16);
  }

  /** Waiters over every queue and every instance sharing the backend. */
  depth(): Promise<number> {
    return this.backend.depth();
  }

  /** A slot was given back: the oldest waiters may now lease. */
  released(): void {
    this.backend.notify().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'slot queue: notify failed'));
  }

  /**
   * Waits in `queue` for `tryLease` to succeed (or fail for a reason other than the cap), up to
   * `timeoutMs`. Throws the abort reason when `signal` fires; the waiter leaves either way.
   */
  async wait(queue: string, signal: AbortSignal, timeoutMs: number, max: number, tryLease: () => Promise<LeaseResult>): Promise<WaitResult> {
    const id = randomUUID();
    const deadline = Date.now() + timeoutMs;
    if (!(await this.backend.join(queue, id, deadline + EXPIRY_MARGIN_MS, max))) return { kind: 'full' };
    const waiter: Waiter = { woken: false, wake: () => {} };
    let local = this.waiters.get(queue);
    if (!local) this.waiters.set(queue, (local = new Map()));
    local.set(id, waiter);
    try {
      this.check();
      for (;;) {
        await this.sleep(waiter, deadline - Date.now(), signal);
        signal.throwIfAborted();
        if (waiter.woken) {
          waiter.woken = false;
          const result = await tryLease();
          if (!onlyCapBlocks(result)) return { kind: 'leased', result };
        }
        if (Date.now() >= deadline) return { kind: 'timeout' };
      }
    } finally {
      local.delete(id);
      if (local.size === 0) this.waiters.delete(queue);
      await this.backend.leave(queue, id).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'slot queue: leaving failed'));
      // The next waiter may be the head now.
      this.released();
    }
  }

  /** Resolves when the waiter is woken (possibly already), the time is up, or the signal fires. */
  private sleep(waiter: Waiter, ms: number, signal: AbortSignal): Promise<void> {
    if (waiter.woken || ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        waiter.wake = () => {};
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      waiter.wake = done;
    });
  }

  /** Wakes this instance's waiters among the oldest of their queue; runs one check at a time, coalescing calls. */
  private check(): void {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    void (async () => {
      try {
        do {
          this.checkAgain = false;
          for (const [queue, local] of this.waiters) {
            for (const id of await this.backend.head(queue, WINDOW)) {
              const waiter = local.get(id);
              if (!waiter) continue;
              waiter.woken = true;
              waiter.wake();
            }
          }
        } while (this.checkAgain);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'slot queue: reading the queue failed');
      } finally {
        this.checking = false;
      }
    })();
  }
}
