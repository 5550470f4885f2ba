/**
 * JSON control API under /__fake/, for driving a standalone fake (npm run fake-grok) from another process.
 * These requests are not recorded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeState } from './exchange.js';
import { parseJson, readBody, sendJson } from './http.js';
import { scenarioError } from './scenarios.js';
import type { AccountBehavior, FakeGrok, Scenario } from './types.js';

export const CONTROL_PREFIX = '/__fake/';

const STATES = new Set(['valid', 'invalid', 'antibot', 'blocked', 'limited', 'garbage', 'drop', 'truncate', 'empty', 'degraded', 'challenge', 'unavailable', 'reset', 'stall']);
const TIERS = new Set(['basic', 'super', 'heavy']);
const NUMERIC = ['retryAfterSec', 'firstByteDelayMs', 'dropAfterFrames'] as const;

/** Picks the behaviour fields out of a control body; returns an error message when one is malformed. */
function behaviorFrom(body: Record<string, unknown>): Partial<AccountBehavior> | string {
  const out: Partial<AccountBehavior> = {};
  if (body.state !== undefined) {
    if (typeof body.state !== 'string' || !STATES.has(body.state)) return `unknown state ${String(body.state)}`;
    out.state = body.state as AccountBehavior['state'];
  }
  if (body.tier !== undefined) {
    if (typeof body.tier !== 'string' || !TIERS.has(body.tier)) return `unknown tier ${String(body.tier)}`;
    out.tier = body.tier as AccountBehavior['tier'];
  }
  for (const key of NUMERIC) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `${key} must be a non-negative number`;
    out[key] = v;
  }
  return out;
}

const bad = (res: ServerResponse, message: string) => sendJson(res, 400, { error: message });

export async function handleControl(state: FakeState, fake: FakeGrok, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const route = `${req.method} ${path.slice(CONTROL_PREFIX.length)}`;
  let body: any = null;
  if (req.method === 'POST') {
    const parsed = parseJson(await readBody(req));
    if (parsed.ok) body = parsed.value;
    else if (parsed.raw !== null) return bad(res, 'invalid JSON body');
  }
  const obj: Record<string, unknown> = body && typeof body === 'object' && !Array.isArray(body) ? body : {};
  switch (route) {
    case 'POST accounts': {
      if (typeof obj.token !== 'string' || obj.token === '') return bad(res, 'token must be a non-empty string');
      const behavior = behaviorFrom(obj);
      if (typeof behavior === 'string') return bad(res, behavior);
      fake.setAccount(obj.token, behavior);
      return sendJson(res, 200, { ok: true });
    }
    case 'POST scripts': {
      if (typeof obj.match !== 'string') return bad(res, 'match must be a string');
      const problem = scenarioError(obj.scenario);
      if (problem) return bad(res, problem);
      let match: string | RegExp = obj.match;
      // Opt-in regex matching; the source comes from the operator of the fake, so it is trusted.
      if (obj.regex === true) {
        try {
          match = new RegExp(obj.match);
        } catch {
          return bad(res, 'invalid regex');
        }
      }
      fake.script(match, obj.scenario as Scenario);
      return sendJson(res, 200, { ok: true });
    }
    case 'GET requests':
      return sendJson(res, 200, fake.requests);
    case 'POST reset':
      fake.reset();
      return sendJson(res, 200, { ok: true });
    case 'GET state':
      return sendJson(res, 200, {
        url: fake.url,
        activeChats: state.accounts.activeChats(),
        accounts: state.accounts.snapshot(),
        uploads: state.uploads.map((u) => ({ id: u.id, fileName: u.fileName, mime: u.mime, size: u.bytes.length, token: u.token })),
      });
    default:
      return sendJson(res, 404, { error: `no control route ${route}` });
  }
}
