import type { UpstreamEvent } from '../core/events.js';
import type { ChatIntent } from '../core/intent.js';
import type { ProviderName, Tier } from '../core/models.js';
import type { UpstreamError } from '../errors.js';
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

/** An image given to an edit (checked by content before it gets here). */
export interface ImageInput {
  name: string;
  mime: string;
  data: Buffer;
}

/** One image of a streamed round: `bytes` null when the provider withheld it (moderation). */
export interface RoundImage {
  bytes: Buffer | null;
}

/**
 * Images on a leased credential; every method rejects with a classified `UpstreamError`.
 * `generate` is what every image provider has; the others are what a provider adds (grok.com's
 * imagine previews, edits, generation through its chat path).
 */
export interface ImageUpstream {
  generate(lease: Lease, req: { prompt: string; n: number; aspectRatio?: string }, signal: AbortSignal): Promise<ImageResult>;
  /** One round with previews as they arrive (`onPartial(order, base64)`). */
  generateRound?(
    lease: Lease,
    req: { prompt: string; n: number; aspectRatio: string; nsfw: boolean; pro?: boolean },
    signal: AbortSignal,
    onPartial: (order: number, b64: string) => void,
  ): Promise<RoundImage[]>;
  /** One edited image from the inputs. */
  edit?(lease: Lease, req: { prompt: string; inputs: ImageInput[]; aspectRatio?: string }, signal: AbortSignal): Promise<Buffer>;
  /** Up to two images through the chat path, in the lease's mode. */
  draw?(lease: Lease, prompt: string, signal: AbortSignal): Promise<ImageResult>;
}

/** A video to generate (seconds, the provider's resolution and style names). */
export interface VideoRequest {
  prompt: string;
  aspectRatio: string;
  duration: number;
  resolution: '480p' | '720p';
  preset: string;
}

/** Video on a leased credential; rejects with a classified `UpstreamError`. */
export interface VideoUpstream {
  /** Generates and downloads one video (the MP4's bytes); `onProgress` gets every rise, 0–100. */
  generate(lease: Lease, req: VideoRequest, image: ImageInput | null, signal: AbortSignal, onProgress: (percent: number) => void): Promise<Buffer>;
}

/** One mode's quota window on an account (chat modes). */
export interface QuotaWindow {
  remaining: number;
  total: number;
  windowSeconds: number;
}

/** One media quota group's window (no total reported). */
export interface MediaQuotaWindow {
  remaining: number;
  windowSeconds: number;
  /** Epoch ms when a spent group is available again, when the provider says. */
  nextAvailableAt: number | null;
}

/**
 * What the pool asks a provider about its accounts, outside any request: quota windows and the
 * tier they imply, one-time setup (content settings), and which failures the provider wants
 * retried once on the same account after a refreshed identity.
 */
export interface AccountUpstream {
  /** The window of one mode, or null when the account's tier lacks the mode. */
  quota(token: string, mode: string, signal?: AbortSignal): Promise<QuotaWindow | null>;
  /** Media quota groups by key (groups the account lacks are left out). */
  mediaQuota(token: string, signal?: AbortSignal): Promise<Record<string, MediaQuotaWindow>>;
  /** The tier the windows imply; null when they do not tell. */
  inferTier(windows: Record<string, QuotaWindow | null | undefined>): Tier | null;
  /** Turns on adult content for the account, reporting each step done. */
  enableNsfw(token: string, done: (step: string) => void): Promise<void>;
  /** A refusal by the provider's anti-bot layer: one retry on the same account after `refreshIdentity`. */
  isAntiBot(err: UpstreamError): boolean;
  refreshIdentity(token: string): Promise<void>;
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
  video?: VideoUpstream;
  account?: AccountUpstream;
  /** Frames or fields the provider sent that this server does not know, by kind:name (admin stats). */
  unknownFrames?(): Record<string, number>;
  /** Its own model list, read with one of its credentials (null: none in the pool). */
  listModels?(key: string | null): Promise<ListedModel[]>;
  close(): Promise<void>;
}
