/** Public types of the fake grok.com (re-exported by server.ts). */

export type AccountState = 'valid' | 'invalid' | 'antibot' | 'blocked' | 'limited' | 'garbage' | 'drop';
export type Tier = 'basic' | 'super' | 'heavy';

export interface AccountBehavior {
  state: AccountState;
  tier: Tier;
  /** For 'limited': value of the Retry-After header (default 60). */
  retryAfterSec?: number;
  /** Delay before the status line and first body bytes of a chat answer (slow first byte). */
  firstByteDelayMs?: number;
  /** With state 'drop': the socket is destroyed after this many NDJSON lines (default 3). */
  dropAfterFrames?: number;
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
  | { kind: 'reasoning'; thinking: string[]; answer: string; interTokenDelayMs?: number }
  | { kind: 'search'; answer: string; sources: { url: string; title?: string }[] }
  | {
      kind: 'error-in-stream';
      variant: 'antibot' | 'rate-limited' | 'usage-limit' | 'stream-errors';
      /** Answer tokens sent before the error (default 0: the error is the very first line). */
      afterTokens?: number;
    }
  | { kind: 'raw'; lines: string[]; interLineDelayMs?: number };

export type ScriptMatch = string | RegExp | ((prompt: string) => boolean);

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
}

/** Account settings changed by the NSFW enablement calls (spec upstream-media-control.md §4.5). */
export interface UserSettings {
  tosVersion: number | null;
  birthDate: string | null;
  nsfw: boolean;
}
