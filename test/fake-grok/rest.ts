import { IMAGINE_GROUPS, modeAllowed } from './accounts.js';
import { admit, jsonObject, type Exchange, type FakeState } from './exchange.js';
import { sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';

/** POST /rest/rate-limits {"modelName": "<mode>"}: the account's window for that mode. */
export function handleRateLimits(state: FakeState, ex: Exchange): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const body = jsonObject(ex);
  if (!body) return sendJson(ex.res, 400, ERROR_BODIES.invalidJson);
  const mode = body.modelName;
  if (!modeAllowed(acct.behavior.tier, mode)) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const w = state.accounts.window(acct.token, mode)!;
  // A rate-limited account is reported as exhausted, consistent with the 429 its chats get.
  const remaining = acct.behavior.state === 'limited' ? 0 : w.remaining;
  sendJson(ex.res, 200, {
    windowSizeSeconds: w.windowSeconds,
    remainingQueries: remaining,
    totalQueries: w.total,
    lowEffortRateLimits: null,
    highEffortRateLimits: null,
  });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** POST /rest/app-chat/upload-file {fileName, fileMimeType, content: base64}. */
export function handleUpload(state: FakeState, ex: Exchange): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  const body = jsonObject(ex);
  if (!body) return sendJson(ex.res, 400, ERROR_BODIES.invalidJson);
  const { fileName, fileMimeType, content } = body;
  // Catches a proxy forwarding a whole data: URI instead of the bare base64 payload.
  const valid =
    typeof fileName === 'string' &&
    typeof fileMimeType === 'string' &&
    typeof content === 'string' &&
    content.length > 0 &&
    BASE64.test(content);
  if (!valid) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const id = `file_${++state.counters.file}`;
  state.uploads.push({ id, fileName, mime: fileMimeType, bytes: Buffer.from(content, 'base64'), token: acct.token });
  sendJson(ex.res, 200, { fileMetadataId: id, fileUri: `users/${acct.userId}/${id}/content` });
}

export const IMAGINE_QUOTA_PATH = '/rest/media/imagine/quota_info';

/**
 * POST /rest/media/imagine/quota_info {}: the account's imagine windows, one key per group, each
 * null (not offered) or {available, remainingQueries, windowSizeSeconds, nextAvailableAt when spent}.
 */
export function handleImagineQuota(state: FakeState, ex: Exchange): void {
  const acct = admit(state, ex, false);
  if (!acct) return;
  if (!jsonObject(ex)) return sendJson(ex.res, 400, ERROR_BODIES.invalidJson);
  const out: Record<string, unknown> = {};
  for (const group of IMAGINE_GROUPS) {
    const w = state.accounts.imagineWindow(acct.token, group);
    if (!w) {
      out[group] = null;
      continue;
    }
    const entry: Record<string, unknown> = { available: w.remaining > 0, remainingQueries: w.remaining, windowSizeSeconds: w.windowSeconds };
    if (w.remaining <= 0) entry.nextAvailableAt = new Date(w.startedAt + w.windowSeconds * 1000).toISOString();
    out[group] = entry;
  }
  sendJson(ex.res, 200, out);
}
