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
import type { Scenario, ScriptMatch } from './types.js';

/** One line to send, after waiting delayMs. */
export interface Frame {
  line: string;
  delayMs: number;
}

export interface Plan {
  frames: Frame[];
  /** Whether sending every frame is a successful turn (costs one query). */
  completesTurn: boolean;
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

/** Grok's reasoning kinds: the first thought is the header, "- " bullets are summaries, the rest analysis. */
function thinkingTag(text: string, index: number): ThinkingTag {
  if (index === 0) return 'header';
  return text.startsWith('- ') ? 'summary' : 'analysis';
}

function prologue(ids: TurnIds, message: string): Frame[] {
  return [
    { line: conversationLine(ids.conversationId), delayMs: 0 },
    { line: userResponseLine(ids.userResponseId, message), delayMs: 0 },
  ];
}

function epilogue(ids: TurnIds, fullMessage: string): Frame[] {
  return [
    { line: modelResponseLine({ responseId: ids.responseId, parentResponseId: ids.userResponseId, message: fullMessage }), delayMs: 0 },
    { line: finalMetadataLine(), delayMs: 0 },
  ];
}

const tokenFrames = (tokens: string[], responseId: string, delayMs: number): Frame[] =>
  tokens.map((t) => ({ line: answerTokenLine(t, responseId), delayMs }));

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
      const thoughts = scenario.thinking.map((t, i) => ({
        line: thinkingLine(t, thinkingTag(t, i), i, ids.responseId),
        delayMs: delay,
      }));
      const tokens = tokenFrames(splitTokens(scenario.answer), ids.responseId, delay);
      return { frames: [...prologue(ids, message), ...thoughts, ...tokens, ...epilogue(ids, scenario.answer)], completesTurn: true };
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

const isStr = (v: unknown): v is string => typeof v === 'string';
const isOptNum = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);

/** Checks a scenario received over the control API; returns an error message or null. */
export function scenarioError(s: any): string | null {
  if (!s || typeof s !== 'object') return 'scenario must be an object';
  switch (s.kind) {
    case 'plain':
      return isStr(s.answer) && isOptNum(s.chunkSize) && isOptNum(s.interTokenDelayMs) ? null : 'plain: answer string, numeric options';
    case 'reasoning':
      return isStr(s.answer) && Array.isArray(s.thinking) && s.thinking.every(isStr) && isOptNum(s.interTokenDelayMs)
        ? null
        : 'reasoning: thinking string[], answer string';
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
