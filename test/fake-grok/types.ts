/** Public types of the fake grok.com (re-exported by server.ts). */

/**
 * How grok.com treats an account. Besides refusals: 'drop' destroys the connection mid-answer;
 * 'truncate' ends the answer cleanly but without its closing frame (REST: no modelResponse /
 * finalMetadata; mgw: no response.done); 'empty' answers 200 with no answer text; 'degraded' is an
 * account under risk control, which gets answers without any reasoning (2026-08 observation: a
 * healthy account gets a notetaker header or reasoning before the answer, a degraded one neither).
 * Edge faults: 'challenge' is Cloudflare's 403 HTML "Just a moment..." page; 'unavailable' a 503
 * from grok.com's backend; 'reset' closes the connection before any response headers; 'stall' sends
 * dropAfterFrames lines of the answer (default 3) and then nothing more, holding the connection open.
 */
export type AccountState =
  | 'valid' | 'invalid' | 'antibot' | 'blocked' | 'limited' | 'garbage' | 'drop' | 'truncate' | 'empty' | 'degraded'
  | 'challenge' | 'unavailable' | 'reset' | 'stall';
export type Tier = 'basic' | 'super' | 'heavy';

export interface AccountBehavior {
  state: AccountState;
  tier: Tier;
  /** For 'limited': value of the Retry-After header (default 60). */
  retryAfterSec?: number;
  /** Delay before the status line and first body bytes of a chat answer (slow first byte). */
  firstByteDelayMs?: number;
  /** With state 'drop' ('stall'): the socket is destroyed (goes silent) after this many NDJSON lines (default 3). */
  dropAfterFrames?: number;
  /** Window totals per mode that differ from the tier's usual ones (grok.com changes them now and then). */
  quotaTotals?: Record<string, number>;
}

export interface RecordedRequest {
  id: number;
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  cookies: Record<string, string>;
  /** Parsed JSON, the raw text when it is not JSON, or null when the body is empty. */
  body: any;
  token: string | null;
  receivedAt: number;
  closedAt: number | null;
  /** true if the CLIENT closed the connection before the fake finished the response */
  clientAborted: boolean;
}

export type Scenario =
  | { kind: 'plain'; answer: string; chunkSize?: number; interTokenDelayMs?: number }
  | {
      kind: 'reasoning';
      /** Plain strings: the first is the step header, "- " bullets are summaries, the rest thinking. */
      thinking: (string | Thought)[];
      answer: string;
      interTokenDelayMs?: number;
      /**
       * mgw only: notetaker step titles grok.com sends after response.done (2026-10 frames, with an
       * empty response_id), followed by the follow-up suggestions chunk.
       */
      lateSteps?: string[];
    }
  | { kind: 'search'; answer: string; sources: { url: string; title?: string }[] }
  | {
      kind: 'error-in-stream';
      variant: 'antibot' | 'rate-limited' | 'usage-limit' | 'stream-errors';
      /** Answer tokens sent before the error (default 0: the error is the very first line). */
      afterTokens?: number;
    }
  | { kind: 'raw'; lines: string[]; interLineDelayMs?: number };

export type ScriptMatch = string | RegExp | ((prompt: string) => boolean);

/**
 * One piece of reasoning and where grok.com puts it. REST carries it as a thinking token with
 * `messageTag` header / summary / analysis (and `rolloutId`, the agent, in heavy mode); mgw as a
 * text chunk on a channel: the notetaker's header and summary channels, the model's THINKING
 * channel, or the older REASONING / ANALYSIS names. `channel` may also name any other mgw channel
 * (an unknown one, to test drift handling); REST then sends it as `analysis`.
 */
export interface Thought {
  text: string;
  kind: 'header' | 'summary' | 'thinking';
  channel?: string;
  rollout?: string;
}

/** grok.com's video payload generations: since 2026-08-20 text to video only. */
export type VideoGeneration = '2026-08' | 'legacy';

export interface QuotaView {
  remaining: number;
  total: number;
  windowSeconds: number;
}

export interface UploadRecord {
  id: string;
  fileName: string;
  mime: string;
  bytes: Buffer;
  token: string | null;
}

export interface FakeGrok {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  /** Closes the server and destroys open sockets (running streams included). */
  close(): Promise<void>;
  /** Forgets accounts, scripts, recorded requests, uploads and quotas. */
  reset(): void;
  setAccount(token: string, b: Partial<AccountBehavior>): void;
  /** First match wins, newest first; a string matches as a substring of the request's `message`. */
  script(match: ScriptMatch, scenario: Scenario): void;
  /** Every non-control request received, in order (the same array across reset()). */
  readonly requests: RecordedRequest[];
  /** Every upload received (the same array across reset()). */
  readonly uploads: UploadRecord[];
  quota(token: string, mode: string): QuotaView;
  /** Chat requests (conversations/new and follow-ups) currently open, optionally for one account. */
  activeChats(token?: string): number;
  /** High-water mark of activeChats(token) since start or the last reset(). */
  maxConcurrentChats(token: string): number;
  /** What the account-setup calls (ToS, birth date, NSFW switch) set for the account. */
  userSettings(token: string): UserSettings;
  /** Resolves with the first recorded request matching pred, now or when one is recorded/updated. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** Answer of the default plain scenario. Assignable. */
  defaultAnswer: string;
  /** Which video payloads grok.com accepts (default '2026-08': the image form is refused). Assignable. */
  videoGeneration: VideoGeneration;
}

/** Account settings changed by the NSFW enablement calls (docs/upstream-grok.md §8). */
export interface UserSettings {
  /** Accepted on accounts.x.ai (SetTosAcceptedVersion). */
  tosVersion: number | null;
  /** Accepted on grok.com (`/rest/auth/set-tos-accepted`, version 5 since 2026-07-18). */
  productTosVersion: number | null;
  birthDate: string | null;
  nsfw: boolean;
}
