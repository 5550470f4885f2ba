import type { NeutralMessage } from '../core/intent.js';

/**
 * A `POST /v1/responses` result kept for `GET /v1/responses/{id}` and for continuing the
 * conversation with `previous_response_id`.
 */
export interface StoredResponse {
  /** `resp_…`; the only key. */
  id: string;
  /** Epoch ms after which the record is gone (reads treat it as absent, a sweep deletes it). */
  expiresAt: number;
  /**
   * The conversation that produced this response, already neutral: the earlier turns (from its own
   * `previous_response_id` chain), `instructions` as a leading system message, and this turn's
   * input. Attachment bytes are not kept (only their text survives a continuation).
   */
  messages: NeutralMessage[];
  /** The public Response object exactly as the client received it (status, output, usage …). */
  response: Record<string, unknown>;
}

/**
 * Where stored responses live. Implementations: the local one (one file per response under
 * DATA_DIR/responses) and a Redis one (a key per response with the TTL set on the key), so any
 * instance of a deployment can serve GET and `previous_response_id`.
 *
 * Atomicity contract, which every implementation must keep:
 * - `put` replaces the whole record at once: a concurrent or later `get` sees either nothing/the
 *   old record or the complete new one, never a torn record. It resolves only once the record is
 *   durable (local: fsynced and renamed; Redis: acknowledged by the server), because the client is
 *   told the id right after.
 * - `delete` is idempotent and atomic; it returns whether a live record existed. A `get` after it
 *   resolves never returns the record.
 * - Records are immutable once put (responses are never edited), so no read-modify-write exists
 *   and no locking is needed between instances.
 * - Expiry is absolute (`expiresAt`); reading an expired record returns null even before the
 *   backend has removed it.
 */
export interface ResponseStore {
  put(record: StoredResponse): Promise<void>;
  get(id: string): Promise<StoredResponse | null>;
  delete(id: string): Promise<boolean>;
  /** Stops background work (expiry sweeps). */
  close(): Promise<void>;
}

/** Response ids this server mints: keeps ids safe as file names and Redis keys. */
export const RESPONSE_ID_RE = /^resp_[A-Za-z0-9]{8,64}$/;
