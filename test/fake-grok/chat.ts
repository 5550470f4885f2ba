import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { modeAllowed } from './accounts.js';
import { admit, jsonObject, type Exchange, type FakeState } from './exchange.js';
import { sendJson } from './http.js';
import { ERROR_BODIES } from './ndjson.js';
import { forAccount, planTurn, type Frame, type TurnIds } from './scenarios.js';
import type { Scenario } from './types.js';

/** What a 'garbage' account gets with its 200: an HTML-ish challenge page plus invalid UTF-8, never JSON. */
const GARBAGE = Buffer.concat([
  Buffer.from('<!DOCTYPE html><html><head><title>Just a moment...</title></head>\n'),
  Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0xc3, 0x28, 0x0a]),
  Buffer.from('}}}not json at all\n'),
]);

const STREAM_HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** Waits ms; false when the response closed meanwhile. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/** Waits until buffered output drained; false when the response closed meanwhile. */
async function drained(ex: Exchange): Promise<boolean> {
  try {
    await once(ex.res, 'drain', { signal: ex.signal });
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the line reached the socket (needed before destroying it, else corked data is lost). */
function writeFlushed(ex: Exchange, line: string): Promise<void> {
  return new Promise<void>((resolve) => {
    ex.res.write(line, () => resolve());
    ex.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * Sends the frames as NDJSON, one write per line. With dropAfter the socket is destroyed after that many
 * lines instead of ending the response. Returns whether the response ended normally; beforeEnd runs just before
 * the end so its effects are visible by the time the client sees the end of the body.
 */
async function streamFrames(ex: Exchange, frames: Frame[], dropAfter?: number, beforeEnd?: () => void, stallAfter?: number): Promise<boolean> {
  ex.res.writeHead(200, STREAM_HEADERS);
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (dropAfter !== undefined && i >= dropAfter) break;
    // A stalled answer keeps the connection open and says nothing more until the client gives up.
    if (stallAfter !== undefined && i >= stallAfter) {
      await pause(2 ** 31 - 1, ex.signal);
      return false;
    }
    if (f.delayMs > 0 && !(await pause(f.delayMs, ex.signal))) return false;
    if (ex.closed) return false;
    if (dropAfter !== undefined) await writeFlushed(ex, f.line + '\n');
    else if (!ex.res.write(f.line + '\n') && !(await drained(ex))) return false;
  }
  if (dropAfter !== undefined) {
    ex.destroyedByServer = true;
    ex.res.socket?.destroy();
    return false;
  }
  if (ex.closed) return false;
  beforeEnd?.();
  ex.res.end();
  return true;
}

function mintIds(state: FakeState): TurnIds {
  const n = ++state.counters.turn;
  return { conversationId: `conv_${n}`, userResponseId: `up_${n}`, responseId: `resp_${n}`, toolCardId: `search-${n}` };
}

/** POST /rest/app-chat/conversations/new (and the follow-up /conversations/{id}/responses). */
export async function handleChat(state: FakeState, ex: Exchange): Promise<void> {
  const token = ex.rec.token;
  if (token && !ex.closed) {
    state.accounts.chatOpened(token);
    ex.res.once('close', () => state.accounts.chatClosed(token));
  }
  const delay = token ? state.accounts.get(token).behavior.firstByteDelayMs ?? 0 : 0;
  if (delay > 0 && !(await pause(delay, ex.signal))) return;

  const acct = admit(state, ex, true);
  if (!acct || !token) return;
  const body = jsonObject(ex);
  if (!body) return sendJson(ex.res, 400, ERROR_BODIES.invalidJson);
  const mode = body.modeId;
  if (!modeAllowed(acct.behavior.tier, mode)) return sendJson(ex.res, 400, ERROR_BODIES.badClient);
  const window = state.accounts.window(token, mode)!;
  if (window.remaining <= 0) {
    const retryAfter = String(state.accounts.secondsToRefill(token, mode));
    return sendJson(ex.res, 429, ERROR_BODIES.tooManyRequests, { 'retry-after': retryAfter });
  }
  if (acct.behavior.state === 'garbage') {
    ex.res.writeHead(200, STREAM_HEADERS);
    ex.res.end(GARBAGE);
    return;
  }

  const message = typeof body.message === 'string' ? body.message : '';
  const scenario: Scenario = state.scripts.find(message) ?? { kind: 'plain', answer: state.defaultAnswer };
  const ids = mintIds(state);
  const plan = forAccount(planTurn(scenario, ids, message, state.defaultAnswer), acct.behavior.state, ids, message);
  const cutAfter = Math.max(0, acct.behavior.dropAfterFrames ?? 3);
  const dropAfter = acct.behavior.state === 'drop' ? cutAfter : undefined;
  const stallAfter = acct.behavior.state === 'stall' ? cutAfter : undefined;
  await streamFrames(ex, plan.frames, dropAfter, plan.completesTurn ? () => state.accounts.consume(token, mode) : undefined, stallAfter);
}
