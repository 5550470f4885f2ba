/**
 * A silence detector for one upstream turn. It only counts time while we are actually waiting
 * on grok.com (`arm` … `disarm` around each read), so a slow client that applies backpressure
 * never looks like an idle upstream. Arming is two field writes; the single timer re-schedules
 * itself lazily instead of being reset per frame.
 */
export class Watchdog {
  private armed = false;
  private armedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private limitMs: number,
    private readonly onExpire: () => void,
  ) {}

  /** Starts waiting now; `limitMs` replaces the limit (first frame vs. between frames). */
  arm(limitMs = this.limitMs): void {
    if (this.stopped) return;
    this.limitMs = limitMs;
    this.armed = true;
    this.armedAt = Date.now();
    if (!this.timer) this.schedule(limitMs);
  }

  /** Stops counting until the next `arm` (we are busy handing data to the client). */
  disarm(): void {
    this.armed = false;
  }

  /** For good: clears the timer; `onExpire` will not be called any more. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(this.check, ms);
    // The socket, not this timer, is what should keep the process alive.
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.stopped || !this.armed) return; // the next arm() schedules again
    const left = this.armedAt + this.limitMs - Date.now();
    if (left > 0) {
      this.schedule(left);
      return;
    }
    this.stop();
    this.onExpire();
  };
}
