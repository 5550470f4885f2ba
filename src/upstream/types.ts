import type { UpstreamEvent } from '../core/events.js';
import type { ChatIntent } from '../core/intent.js';
import type { Lease } from '../store/types.js';

export interface ChatCallContext {
  /** The account (and mode) the pool leased for this attempt. */
  lease: Lease;
  /** Aborted when the client goes away or the request is cancelled; closes the upstream socket. */
  signal: AbortSignal;
}

/**
 * A chat upstream. `openChat` is "primed": it resolves only after the response headers AND the
 * first meaningful frame arrived, so auth, quota, anti-bot and rate-limit failures (also those sent
 * inside a 200 body) reject with a classified `UpstreamError` before anything reaches the client,
 * and the pool can retry on another account. The returned iterable yields the whole turn (the
 * primed frame included) and throws `UpstreamError` for failures after that point.
 */
export interface ChatUpstream {
  openChat(intent: ChatIntent, ctx: ChatCallContext): Promise<AsyncIterable<UpstreamEvent>>;
}
