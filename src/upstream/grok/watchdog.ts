import type { UpstreamError } from '../../errors.js';
import type { UpstreamTimeouts } from '../http-client.js';
import { classifyNetwork, upstreamErrors } from './classify.js';

/**
 * A silence detector for one upstream turn. It only counts time while we are actually waiting
 * on grok.com (`arm` … `disarm` around each read), so a slow client that applies backpressure
 * never looks like an idle upstream. Arming is a few field writes; the single timer re-schedules
 * itself lazily instead of being reset per frame. Only a shorter limit than the pending timer's
 * (the idle limit after the first-byte one) replaces that timer: left alone, the first-byte timer
 * would cut a stall after the first token at `first_byte_sec` instead of `idle_sec`.
 */
export class Watchdog {
  private armed = false;
  private armedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (ms since the epoch). */
  private dueAt = 0;
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
    if (!this.timer) return this.schedule(limitMs);
    // A pending timer due later than this limit allows would let the silence run past it.
    if (this.dueAt > this.armedAt + limitMs) {
      clearTimeout(this.timer);
      this.schedule(limitMs);
    }
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
    this.dueAt = Date.now() + ms;
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

/**
 * The timeout error of a turn, naming the limit that ran out: `idle` once content flowed (a
 * silence between frames, timeout.idle_sec), else nothing came in time (timeout.first_byte_sec).
 */
export function turnTimeout(idle: boolean, t: UpstreamTimeouts): UpstreamError {
  return idle
    ? upstreamErrors.timeout(`no data for ${t.idleMs / 1000} s; timeout.idle_sec`)
    : upstreamErrors.timeout(`no answer within ${t.firstByteMs / 1000} s; timeout.first_byte_sec`);
}

/** Why a turn failed, in order of precedence: the client went away, our watchdog fired, the network. */
export function turnFailure(e: unknown, turn: { signal: AbortSignal; timedOut: boolean; idle: boolean; t: UpstreamTimeouts }): UpstreamError {
  if (turn.signal.aborted) return upstreamErrors.aborted();
  if (turn.timedOut) return turnTimeout(turn.idle, turn.t);
  return classifyNetwork(e);
}
