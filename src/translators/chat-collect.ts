import type { UpstreamEvent } from '../core/events.js';
import type { ToolCall } from '../core/intent.js';
import { randomId } from '../lib/ids.js';
import { countTokens } from '../lib/tokenizer.js';
import type { ChatPlan } from './chat-completions.js';

/** One generation folded: what a `choices[i]` is built from (streamed replays use it too). */
export interface Turn {
  text: string;
  reasoning: string;
  citations: Citation[];
  toolCalls: ToolCall[];
  reason: 'stop' | 'length' | 'tool_calls';
  /** Counts the upstream reported for this generation, when it reports any. */
  reported?: ReportedUsage;
}

export type ReportedUsage = Omit<Extract<UpstreamEvent, { type: 'usage' }>, 'type'>;

export interface Citation {
  url: string;
  title: string;
}

export function addCitation(list: Citation[], e: { url: string; title?: string }): void {
  if (!list.some((c) => c.url === e.url)) list.push({ url: e.url, title: e.title ?? e.url });
}

/** Folds one generation's events (after applyIntentStages) into a Turn. */
export async function collectTurn(events: AsyncIterable<UpstreamEvent>): Promise<Turn> {
  const turn: Turn = { text: '', reasoning: '', citations: [], toolCalls: [], reason: 'stop' };
  for await (const e of events) {
    if (e.type === 'text') turn.text += e.text;
    else if (e.type === 'reasoning') turn.reasoning += e.text;
    else if (e.type === 'citation') addCitation(turn.citations, e);
    else if (e.type === 'tool_call') turn.toolCalls.push(e.call);
    else if (e.type === 'done' && e.reason) turn.reason = e.reason;
    else if (e.type === 'usage') turn.reported = reportedOf(e);
  }
  return turn;
}

/** The events a Turn came from (streams that had to be checked before sending replay these). */
export async function* turnEvents(turn: Turn): AsyncGenerator<UpstreamEvent> {
  if (turn.reasoning) yield { type: 'reasoning', text: turn.reasoning };
  for (const c of turn.citations) yield { type: 'citation', url: c.url, title: c.title };
  if (turn.text) yield { type: 'text', text: turn.text };
  for (const call of turn.toolCalls) yield { type: 'tool_call', call };
  if (turn.reported) yield { type: 'usage', ...turn.reported };
  yield { type: 'done', reason: turn.reason };
}

/** Tokens a call costs, as its name and arguments text. */
export const callTokens = (c: ToolCall) => countTokens(c.name) + countTokens(c.arguments);

export const reportedOf = (e: Extract<UpstreamEvent, { type: 'usage' }>): ReportedUsage => ({
  promptTokens: e.promptTokens,
  completionTokens: e.completionTokens,
  reasoningTokens: e.reasoningTokens,
  cachedTokens: e.cachedTokens,
});

/**
 * OpenAI `usage` with completion tokens summed over the choices (prompt counted once, like OpenAI).
 * When the upstream reported counts for every generation, those are used as they are.
 */
export function usage(plan: ChatPlan, turns: readonly Pick<Turn, 'text' | 'reasoning' | 'toolCalls' | 'reported'>[]) {
  if (turns.length && turns.every((t) => t.reported)) {
    const r = turns.map((t) => t.reported!);
    const prompt = r[0]!.promptTokens;
    const completion = r.reduce((n, x) => n + x.completionTokens, 0);
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: r[0]!.cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: r.reduce((n, x) => n + x.reasoningTokens, 0),
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
  }
  let reasoningTokens = 0;
  let completion = 0;
  for (const t of turns) {
    const r = countTokens(t.reasoning);
    reasoningTokens += r;
    completion += countTokens(t.text) + r + t.toolCalls.reduce((n, c) => n + callTokens(c), 0);
  }
  return {
    prompt_tokens: plan.promptTokens,
    completion_tokens: completion,
    total_tokens: plan.promptTokens + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoningTokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export type ChatUsage = ReturnType<typeof usage>;

/** `url_citation` annotations for the `[[N]](url)` markers the upstream module put into the text. */
export function annotations(content: string, citations: Citation[]) {
  const out: { type: 'url_citation'; url_citation: { url: string; title: string; start_index: number; end_index: number } }[] = [];
  for (const c of citations) {
    let from = 0;
    for (;;) {
      const marker = `](${c.url})`;
      const at = content.indexOf(marker, from);
      if (at < 0) break;
      const start = content.lastIndexOf('[[', at);
      const end = at + marker.length;
      out.push({ type: 'url_citation', url_citation: { url: c.url, title: c.title, start_index: Math.max(0, start), end_index: end } });
      from = end;
    }
  }
  return out.sort((a, b) => a.url_citation.start_index - b.url_citation.start_index);
}

/** OpenAI's `tool_calls` entry for a neutral call. */
export const openAiToolCall = (c: ToolCall) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } });

function choice(plan: ChatPlan, turn: Turn, index: number) {
  const visibleReasoning = plan.intent.thinking ? turn.reasoning : '';
  let content: string | null =
    plan.reasoningFormat === 'think_tags' && visibleReasoning ? `<think>\n${visibleReasoning}\n</think>\n${turn.text}` : turn.text;
  // Only calls: `content: null`, as OpenAI answers; prose before the calls is kept.
  if (turn.toolCalls.length && !content.trim()) content = null;
  const message: Record<string, unknown> = { role: 'assistant', content, refusal: null, annotations: annotations(content ?? '', turn.citations) };
  if (turn.toolCalls.length) message.tool_calls = turn.toolCalls.map(openAiToolCall);
  if (plan.reasoningFormat === 'field' && visibleReasoning) message.reasoning_content = visibleReasoning;
  return { index, message, logprobs: null, finish_reason: turn.reason };
}

export interface ChatCompletionBody {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ReturnType<typeof choice>[];
  usage: ChatUsage;
  citations?: string[];
}

/** One `chat.completion` body from n generations (`choices[i].index = i`). */
export function chatBody(plan: ChatPlan, turns: readonly Turn[]): ChatCompletionBody {
  const body: ChatCompletionBody = {
    id: randomId('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: plan.intent.model.id,
    choices: turns.map((t, i) => choice(plan, t, i)),
    usage: usage(plan, turns),
  };
  const urls = [...new Set(turns.flatMap((t) => t.citations.map((c) => c.url)))];
  if (urls.length) body.citations = urls;
  return body;
}

/** Folds a whole turn into one `chat.completion` body (single choice). */
export async function collectChat(plan: ChatPlan, events: AsyncIterable<UpstreamEvent>): Promise<ChatCompletionBody> {
  return chatBody(plan, [await collectTurn(events)]);
}
