import type { Config } from '../../config/schema.js';
import type { ChatIntent } from '../../core/intent.js';
import { upstreamErrors } from './classify.js';
import type { ResponseMapper } from './response-mapper.js';

/**
 * The quality guard of one chat turn, shared by both transports. grok.com sometimes answers 200
 * with something that is not a whole answer: a stream cut before its closing frame, a turn with
 * no answer text at all, or (for accounts under risk control) an answer that skips the reasoning
 * its mode always streams first. Each is a classified, retryable failure: caught while priming,
 * before anything reached the client, it moves the request to another account; later it ends
 * the stream in-band. The account is charged with it (`degraded` counters).
 */
export interface TurnQuality {
  /** The client sees reasoning, so priming may end at the first reasoning. */
  showReasoning: boolean;
  /** The mode always reasons first and `retry.require_reasoning` is on: an answer without reasoning is degraded. */
  requireReasoning: boolean;
  mode: string;
}

export function turnQuality(intent: ChatIntent, config: Config, mode: string): TurnQuality {
  return { showReasoning: intent.thinking, requireReasoning: config.retry.require_reasoning && intent.model.thinking, mode };
}

/**
 * Whether priming may end: the first thing the client will see is there. Hidden reasoning does
 * not end it, so an answer that turns out empty can still go to another account. Throws when the
 * answer starts without the reasoning the mode requires.
 */
export function readyToStream(m: ResponseMapper, q: TurnQuality): boolean {
  if (m.textSeen) {
    if (q.requireReasoning && !m.reasoningSeen) throw upstreamErrors.noReasoning(q.mode);
    return true;
  }
  return q.showReasoning && m.reasoningSeen;
}

/** Checks a turn that reached its end marker: it must have answered, with reasoning where required. */
export function checkEnded(m: ResponseMapper, q: TurnQuality): void {
  if (!m.textSeen) throw upstreamErrors.empty();
  if (q.requireReasoning && !m.reasoningSeen) throw upstreamErrors.noReasoning(q.mode);
}
