import type { UpstreamEvent } from '../core/events.js';
import type { ChatIntent } from '../core/intent.js';
import type { ProviderName } from '../core/models.js';
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

/** Images one request produced; `moderated` = generated but withheld by the provider. */
export interface ImageResult {
  images: Buffer[];
  moderated: number;
}

/** Image generation on a leased credential; rejects with a classified `UpstreamError`. */
export interface ImageUpstream {
  generate(lease: Lease, req: { prompt: string; n: number; aspectRatio?: string }, signal: AbortSignal): Promise<ImageResult>;
}

/** A model an upstream lists for itself (merged into /v1/models as `<provider>/<id>`). */
export interface ListedModel {
  id: string;
  created: number;
  ownedBy: string;
}

/**
 * One upstream and the capabilities it offers. The registry (registry.ts) holds one per
 * `ProviderName`; routes, media and the pool reach upstreams only through these interfaces.
 */
export interface Provider {
  name: ProviderName;
  chat: ChatUpstream;
  images?: ImageUpstream;
  /** Its own model list, read with one of its credentials (null: none in the pool). */
  listModels?(key: string | null): Promise<ListedModel[]>;
  close(): Promise<void>;
}
