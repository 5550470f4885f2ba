/**
 * Serialises writes of the local store's file. Two kinds of request:
 * - `markDirty()` (hot path: lease/report counters) schedules a debounced write;
 * - `flush()` (operator actions) writes as soon as possible and resolves once the state as it
 *   was at the call is durable.
 * At most one write is ever in flight; whatever is requested while one runs is coalesced into
 * a single further write after it (at once for a flush, after the debounce for `markDirty`). Each write snapshots the whole state when it starts, so a
 * later write always contains every earlier change.
 */
export class StateWriter {
  /** Generation of the newest change requested / durably written. */
  private wanted = 0;
  private done = 0;
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private waiters: { gen: number; resolve: () => void; reject: (err: unknown) => void }[] = [];

  private readonly delayMs: number;
  private readonly retryMs: number;
  private readonly onError: (err: unknown) => void;

  /**
   * @param write snapshots the state synchronously before its first await, then persists it.
   * @param opts.delayMs debounce for `markDirty`.
   * @param opts.retryMs wait before retrying a failed background write (default max(delayMs, 1000)).
   * @param opts.onError told about failed writes no caller was waiting for (they are retried).
   */
  constructor(
    private readonly write: () => Promise<void>,
    opts: { delayMs: number; retryMs?: number; onError?: (err: unknown) => void },
  ) {
    this.delayMs = opts.delayMs;
    this.retryMs = opts.retryMs ?? Math.max(opts.delayMs, 1000);
    this.onError = opts.onError ?? (() => {});
  }

  /** Records a change that must reach disk soon, but need not be durable yet. Never throws. */
  markDirty(): void {
    this.wanted++;
    this.schedule(this.delayMs);
  }

  /** Records a change and resolves once it (and everything before it) is durable; rejects if the write failed. */
  flush(): Promise<void> {
    this.wanted++;
    return this.waitFor(this.wanted);
  }

  /** Resolves once everything requested so far is durable (no new change recorded). */
  drain(): Promise<void> {
    if (this.done >= this.wanted) return Promise.resolve();
    return this.waitFor(this.wanted);
  }

  private waitFor(gen: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ gen, resolve, reject });
      this.clearTimer();
      this.start();
    });
  }

  private schedule(ms: number): void {
    if (this.writing || this.timer) return; // a running write loop picks the change up
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, ms);
    // A pending debounced write must not keep the process alive; close() drains it.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private start(): void {
    if (this.writing) return;
    this.writing = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    let failed = false;
    try {
      while (this.done < this.wanted) {
        const gen = this.wanted;
        try {
          await this.write();
          this.done = gen;
          this.settle(gen, null);
          // Only callers waiting on a flush justify writing again at once; changes marked dirty
          // meanwhile wait for the debounce (under steady load they would otherwise keep the
          // loop writing back to back, hundreds of times a second).
          if (this.waiters.length === 0) break;
        } catch (err) {
          const told = this.settle(gen, err);
          // Callers still waiting asked after this attempt began: try again for them now.
          // Otherwise retry in the background, not in a tight loop (e.g. disk full).
          if (this.waiters.length === 0) {
            if (told === 0) this.onError(err);
            failed = true;
            break;
          }
        }
      }
    } finally {
      // Synchronous with the loop's last check, so no request can slip between them.
      this.writing = false;
    }
    if (this.done < this.wanted) this.schedule(failed ? this.retryMs : this.delayMs);
  }

  /** Resolves (or rejects) the waiters covered by write `gen`; returns how many were told. */
  private settle(gen: number, err: unknown): number {
    const rest = [];
    for (const w of this.waiters) {
      if (w.gen > gen) rest.push(w);
      else if (err === null) w.resolve();
      else w.reject(err);
    }
    const told = this.waiters.length - rest.length;
    this.waiters = rest;
    return told;
  }
}
