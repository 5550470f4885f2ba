import type { UpstreamEvent } from '../../core/events.js';
import type { UpstreamError } from '../../errors.js';
import type { UpstreamTimeouts } from '../http-client.js';
import { upstreamErrors } from './classify.js';
import { ResponseMapper } from './response-mapper.js';
import { checkEnded, readyToStream, type TurnQuality } from './turn-quality.js';
import { turnFailure, turnTimeout, Watchdog } from './watchdog.js';

/**
 * How the frames of one chat turn arrive: the part of a turn that differs between grok.com's REST
 * endpoint (an NDJSON body, rest-chat.ts) and the mgw WebSocket (gateway events, ws-chat.ts).
 * `T` is one unit as the source decodes it (a REST frame, a gateway event).
 */
export interface TurnSource<T> {
  /** Sends the request / opens the socket; rejects with what went wrong (classified by the core). */
  start(): Promise<void>;
  /** The next units, in order; null at the end of the stream. Called only while the watchdog counts. */
  pull(): Promise<readonly T[] | null>;
  /** Feeds one unit to the mapper; true when it was the turn's end marker. */
  feed(unit: T, mapper: ResponseMapper, out: UpstreamEvent[]): boolean;
  /**
   * The stream ended without an end marker (`pull` gave null): throws what that means, or, when
   * the answer did end properly after all, finishes the mapper into `out` and returns.
   */
  endOfStream(mapper: ResponseMapper, out: UpstreamEvent[]): void;
  /** Cuts the turn at once: the client went away (`cause`: the client signal's reason) or the watchdog fired. */
  cut(reason: UpstreamError, cause?: unknown): void;
  /** Releases the connection, exactly once: kept for the account's next turn when `clean`, cut otherwise. */
  release(clean: boolean): void;
}

/**
 * The primed-turn state machine both chat transports share. `open` is primed: it resolves only
 * once what the client sees first arrived (the first answer text, or the first reasoning when the
 * client sees reasoning) or the turn ended, so every failure up to that point — an HTTP status or
 * refused upgrade, an error frame, a timeout, an answer that fails the quality checks of
 * turn-quality.ts — rejects with a classified error the pool can retry on another account.
 * Events seen while priming (ids, hidden reasoning) are held back and delivered first.
 *
 * It owns the silence watchdog (first byte from the request until content flows, hidden reasoning
 * included; idle between reads from then on, counted only while waiting on grok.com), the client-abort listener, the classification of failures
 * (turnFailure: client abort, then our timeout, then the network) and the one release of the
 * source, on every path: error, client abort, early `return()`, or the end of the turn.
 */
export class PrimedTurn<T> {
  private readonly watchdog: Watchdog;
  private readonly mapper = new ResponseMapper();
  private timedOut = false;
  /** The idle limit is counting (content flowed), not the first-byte one: what a timeout is named after. */
  private idleClock = false;
  private primed = false;
  private released = false;
  /** The units of the last pull, consumed from `at`. */
  private batch: readonly T[] = [];
  private at = 0;
  private readonly onClientAbort = () => this.source.cut(upstreamErrors.aborted(), this.signal.reason);

  constructor(
    private readonly source: TurnSource<T>,
    private readonly t: UpstreamTimeouts,
    private readonly signal: AbortSignal,
    private readonly quality: TurnQuality,
  ) {
    this.watchdog = new Watchdog(t.firstByteMs, () => {
      this.timedOut = true;
      this.source.cut(turnTimeout(this.idleClock, this.t));
    });
  }

  async open(): Promise<AsyncIterable<UpstreamEvent>> {
    try {
      if (this.signal.aborted) throw upstreamErrors.aborted();
      this.signal.addEventListener('abort', this.onClientAbort, { once: true });
      // The first-byte clock starts with the request and bounds request → first answer as a whole.
      this.watchdog.arm();
      await this.source.start();
      const first: UpstreamEvent[] = [];
      const ended = await this.prime(first);
      this.primed = true;
      this.watchdog.disarm();
      return this.events(first, ended);
    } catch (e) {
      this.release(false);
      throw this.classify(e);
    }
  }

  /** Reads until what the client sees first (→ false) or the end of the turn (→ true); see turn-quality.ts. */
  private async prime(out: UpstreamEvent[]): Promise<boolean> {
    for (;;) {
      if (this.at === this.batch.length && !(await this.pull())) {
        this.source.endOfStream(this.mapper, out);
        checkEnded(this.mapper, this.quality);
        return true;
      }
      // Units after the first content stay in `batch` for `events`.
      if (this.feed(this.batch[this.at++]!, out)) return true;
      if (readyToStream(this.mapper, this.quality)) return false;
    }
  }

  private async *events(first: UpstreamEvent[], ended: boolean): AsyncGenerator<UpstreamEvent, void, undefined> {
    let clean = false;
    try {
      const out = first;
      for (;;) {
        for (let i = 0; i < out.length; i++) yield out[i]!;
        out.length = 0;
        if (ended) break;
        if (this.at === this.batch.length && !(await this.pull())) {
          this.source.endOfStream(this.mapper, out);
          checkEnded(this.mapper, this.quality);
          ended = true;
          continue;
        }
        // A whole pull at once: its events are then yielded without further awaits.
        while (this.at < this.batch.length) {
          if (this.feed(this.batch[this.at++]!, out)) {
            ended = true;
            break;
          }
        }
      }
      clean = true;
      yield { type: 'done' };
    } catch (e) {
      throw this.classify(e);
    } finally {
      this.release(clean);
    }
  }

  /** One unit into the mapper; at the end marker the turn is finished and checked (turn-quality.ts). */
  private feed(unit: T, out: UpstreamEvent[]): boolean {
    if (!this.source.feed(unit, this.mapper, out)) return false;
    this.mapper.finish(out);
    checkEnded(this.mapper, this.quality);
    return true;
  }

  /**
   * Loads the next units into `batch`; false at the end of the stream. While priming, the
   * first-byte clock started with the request keeps running; afterwards the idle clock counts
   * only while we wait on grok.com, not while the consumer is busy.
   */
  private async pull(): Promise<boolean> {
    // Once content flows (hidden reasoning while priming included), silence is what counts.
    const flowing = this.primed || this.mapper.hasContent;
    if (flowing) {
      // Replaces the first-byte timer still pending from the request (watchdog.ts).
      this.idleClock = true;
      this.watchdog.arm(this.t.idleMs);
    }
    try {
      const units = await this.source.pull();
      if (!units) return false;
      this.batch = units;
      this.at = 0;
      return true;
    } finally {
      if (flowing) this.watchdog.disarm();
    }
  }

  private classify(e: unknown): UpstreamError {
    return turnFailure(e, { signal: this.signal, timedOut: this.timedOut, idle: this.idleClock, t: this.t });
  }

  private release(clean: boolean): void {
    if (this.released) return;
    this.released = true;
    this.watchdog.stop();
    this.signal.removeEventListener('abort', this.onClientAbort);
    this.source.release(clean);
  }
}
