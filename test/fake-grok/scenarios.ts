import {
  STREAM_ERROR_LINES,
  answerTokenLine,
  citationTag,
  conversationLine,
  finalMetadataLine,
  modelResponseLine,
  searchLines,
  thinkingLine,
  type ThinkingTag,
  userResponseLine,
} from './ndjson.js';
import type { AccountState, Scenario, ScriptMatch, Thought } from './types.js';

/** One line to send, after waiting delayMs. */
export interface Frame {
  line: string;
  delayMs: number;
  /** What the line carries, for the account states that change a turn (forAccount). */
  role?: 'reasoning' | 'answer' | 'final';
  /** The mgw channel a reasoning line goes out on (mgw-convert.ts). */
  channel?: string;
}

export interface Plan {
  frames: Frame[];
  /** Whether sending every frame is a successful turn (costs one query). */
  completesTurn: boolean;
  /** The turn stops without its closing frame (mgw: no response.done either). */
  truncated?: boolean;
  /** mgw: notetaker step titles sent after response.done. */
  lateSteps?: string[];
}

/** Ids minted for one turn. */
export interface TurnIds {
  conversationId: string;
  userResponseId: string;
  responseId: string;
  toolCardId: string;
}

/** Scripted scenarios; the newest matching script wins. */
export class ScriptBook {
  private scripts: { test: (prompt: string) => boolean; scenario: Scenario }[] = [];

  add(match: ScriptMatch, scenario: Scenario): void {
    let test: (prompt: string) => boolean;
    if (typeof match === 'string') test = (p) => p.includes(match);
    else if (match instanceof RegExp) test = (p) => { match.lastIndex = 0; return match.test(p); };
    else test = match;
    this.scripts.push({ test, scenario });
  }

  find(prompt: string): Scenario | undefined {
    for (let i = this.scripts.length - 1; i >= 0; i--) {
      const s = this.scripts[i]!;
      if (s.test(prompt)) return s.scenario;
    }
    return undefined;
  }

  clear(): void {
    this.scripts = [];
  }
}

/** Splits text into token-sized pieces whose concatenation is the text. */
export function splitTokens(text: string, chunkSize?: number): string[] {
  if (text === '') return [];
  if (chunkSize && chunkSize > 0) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += chunkSize) out.push(text.slice(i, i + chunkSize));
    return out;
  }
  // Cut before each whitespace run that follows a non-space: "Hello there!" → ["Hello", " there!"], like grok.com.
  return text.split(/(?<=\S)(?=\s)/);
}

/** Grok's reasoning kinds: the first thought is the header, "- " bullets are summaries, the rest thinking. */
function thoughtOf(t: string | Thought, index: number): Thought {
  if (typeof t !== 'string') return t;
  return { text: t, kind: index === 0 ? 'header' : t.startsWith('- ') ? 'summary' : 'thinking' };
}

const REST_TAGS: Record<Thought['kind'], ThinkingTag> = { header: 'header', summary: 'summary', thinking: 'analysis' };
/** Where the 2026-10 gateway streams each kind (frames captured from grok.com). */
const MGW_CHANNELS: Record<Thought['kind'], string> = {
  header: 'CHANNEL_ASSISTANT_NOTETAKER_HEADER',
  summary: 'CHANNEL_ASSISTANT_NOTETAKER_SUMMARY',
  thinking: 'CHANNEL_ASSISTANT_THINKING',
};

function prologue(ids: TurnIds, message: string): Frame[] {
  return [
    { line: conversationLine(ids.conversationId), delayMs: 0 },
    { line: userResponseLine(ids.userResponseId, message), delayMs: 0 },
  ];
}

function epilogue(ids: TurnIds, fullMessage: string): Frame[] {
  return [
    { line: modelResponseLine({ responseId: ids.responseId, parentResponseId: ids.userResponseId, message: fullMessage }), delayMs: 0, role: 'final' },
    { line: finalMetadataLine(), delayMs: 0, role: 'final' },
  ];
}

const tokenFrames = (tokens: string[], responseId: string, delayMs: number): Frame[] =>
  tokens.map((t) => ({ line: answerTokenLine(t, responseId), delayMs, role: 'answer' as const }));

/** The lines of a turn for a scenario; `defaultAnswer` feeds the tokens that precede an in-stream error. */
export function planTurn(scenario: Scenario, ids: TurnIds, message: string, defaultAnswer: string): Plan {
  switch (scenario.kind) {
    case 'plain': {
      const delay = scenario.interTokenDelayMs ?? 0;
      const tokens = splitTokens(scenario.answer, scenario.chunkSize);
      return {
        frames: [...prologue(ids, message), ...tokenFrames(tokens, ids.responseId, delay), ...epilogue(ids, scenario.answer)],
        completesTurn: true,
      };
    }
    case 'reasoning': {
      const delay = scenario.interTokenDelayMs ?? 0;
      const thoughts = scenario.thinking.map((raw, i): Frame => {
        const t = thoughtOf(raw, i);
        return { line: thinkingLine(t.text, REST_TAGS[t.kind], i, ids.responseId, t.rollout), delayMs: delay, role: 'reasoning', channel: t.channel ?? MGW_CHANNELS[t.kind] };
      });
      const tokens = tokenFrames(splitTokens(scenario.answer), ids.responseId, delay);
      const plan: Plan = { frames: [...prologue(ids, message), ...thoughts, ...tokens, ...epilogue(ids, scenario.answer)], completesTurn: true };
      if (scenario.lateSteps?.length) plan.lateSteps = scenario.lateSteps;
      return plan;
    }
    case 'search': {
      const tags = scenario.sources.map((_, i) => citationTag(i)).join('');
      const tokens = splitTokens(scenario.answer);
      // The citation tags ride on the last answer token, as grok.com renders them right after the cited text.
      if (tokens.length > 0) tokens[tokens.length - 1] += tags;
      else if (tags) tokens.push(tags);
      const query = message.split('\n').filter((l) => l.trim()).at(-1)?.slice(0, 200) ?? '';
      const search = searchLines(ids.toolCardId, query, scenario.sources, ids.responseId).map((line) => ({ line, delayMs: 0 }));
      return {
        frames: [...prologue(ids, message), ...search, ...tokenFrames(tokens, ids.responseId, 0), ...epilogue(ids, scenario.answer + tags)],
        completesTurn: true,
      };
    }
    case 'error-in-stream': {
      const errorLine = { line: STREAM_ERROR_LINES[scenario.variant], delayMs: 0 };
      const n = scenario.afterTokens ?? 0;
      // With no tokens first, the error is the very first line, so a proxy can still retry before answering.
      if (n <= 0) return { frames: [errorLine], completesTurn: false };
      const pool = splitTokens(defaultAnswer || 'token');
      const tokens = Array.from({ length: n }, (_, i) => (i < pool.length ? pool[i]! : ' ' + pool[i % pool.length]!.trimStart()));
      return { frames: [...prologue(ids, message), ...tokenFrames(tokens, ids.responseId, 0), errorLine], completesTurn: false };
    }
    case 'raw': {
      const delay = scenario.interLineDelayMs ?? 0;
      return { frames: scenario.lines.map((line) => ({ line, delayMs: delay })), completesTurn: true };
    }
  }
}

/**
 * What an account's state makes of a planned turn: 'degraded' drops the reasoning, 'truncate'
 * stops before the closing frames, 'empty' keeps only the envelope of an answer with no text.
 */
export function forAccount(plan: Plan, state: AccountState, ids: TurnIds, message: string): Plan {
  switch (state) {
    case 'degraded':
      return { frames: plan.frames.filter((f) => f.role !== 'reasoning'), completesTurn: plan.completesTurn };
    case 'truncate':
      return { frames: plan.frames.filter((f) => f.role !== 'final'), completesTurn: false, truncated: true };
    case 'empty':
      return { frames: [...prologue(ids, message), ...epilogue(ids, '')], completesTurn: true };
    default:
      return plan;
  }
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isThought = (v: any): boolean =>
  isStr(v) || (v && isStr(v.text) && ['header', 'summary', 'thinking'].includes(v.kind) && (v.channel === undefined || isStr(v.channel)) && (v.rollout === undefined || isStr(v.rollout)));
const isOptNum = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);

/** Checks a scenario received over the control API; returns an error message or null. */
export function scenarioError(s: any): string | null {
  if (!s || typeof s !== 'object') return 'scenario must be an object';
  switch (s.kind) {
    case 'plain':
      return isStr(s.answer) && isOptNum(s.chunkSize) && isOptNum(s.interTokenDelayMs) ? null : 'plain: answer string, numeric options';
    case 'reasoning':
      return isStr(s.answer) && Array.isArray(s.thinking) && s.thinking.every(isThought) && isOptNum(s.interTokenDelayMs) && (s.lateSteps === undefined || (Array.isArray(s.lateSteps) && s.lateSteps.every(isStr)))
        ? null
        : 'reasoning: thinking (string | {text, kind, channel?, rollout?})[], answer string, lateSteps string[]?';
    case 'search':
      return isStr(s.answer) && Array.isArray(s.sources) && s.sources.every((x: any) => x && isStr(x.url))
        ? null
        : 'search: answer string, sources [{url,title?}]';
    case 'error-in-stream':
      return isStr(s.variant) && Object.hasOwn(STREAM_ERROR_LINES, s.variant) && isOptNum(s.afterTokens) ? null : 'error-in-stream: unknown variant';
    case 'raw':
      return Array.isArray(s.lines) && s.lines.every(isStr) && isOptNum(s.interLineDelayMs) ? null : 'raw: lines string[]';
    default:
      return 'unknown scenario kind';
  }
}
