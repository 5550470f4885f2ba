import type { UpstreamEvent } from '../../core/events.js';
import { classifyFrameError } from './classify.js';
import { TagStripper } from './tag-stripper.js';
import { unknownFrames } from './unknown-frames.js';

/**
 * Maps grok.com REST answer frames to neutral events (docs/upstream-grok.md §4.2–§4.4;
 * P2 behaviour with HEAD's tolerance): ids → `meta`, thinking tokens → `reasoning`, answer
 * tokens → `text` with inline citation tags turned into ` [[N]](url)` markers, search results →
 * `citation`. In-band errors throw a classified `UpstreamError`. One mapper per turn; it reads
 * each parsed frame once and allocates only for what it emits.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Reasoning tags whose tokens are whole lines (a step header or a summary bullet). */
const LINE_TAGS = new Set(['header', 'summary']);
/** `messageTag` values this mapper knows; others are counted as protocol drift (unknown-frames.ts). */
const KNOWN_TAGS = new Set(['final', 'header', 'summary', 'analysis', 'tool_usage_card', 'raw_function_result']);
/** Card types of `cardAttachment` payloads; a searched image carries `image` and no type. */
const KNOWN_CARD_TYPES = new Set(['citation_card', 'generated_image_card', 'citation']);
/** The reasoning of a single-agent turn; multi-agent turns (heavy) name each agent's rollout. */
const MAIN_ROLLOUT = 'Grok';
/** Tool name keyword → emoji for the one-line tool notes in the reasoning. */
const TOOL_EMOJI: [RegExp, string][] = [
  [/image/i, '🖼️'],
  [/search/i, '🔍'],
  [/browse/i, '🌐'],
  [/chatroom/i, '📋'],
  [/code/i, '💻'],
];

export class ResponseMapper {
  /** True once text or reasoning has been produced (ids and sources do not count). */
  hasContent = false;
  /** True once answer text has been produced. */
  textSeen = false;
  /** True once reasoning (any channel, tool notes included) has been produced. */
  reasoningSeen = false;
  /**
   * True once the turn's closing frame arrived: the assembled `modelResponse`, `finalMetadata` or
   * `isSoftStop` (REST). A REST body that ends without one was cut off.
   */
  sawFinal = false;
  /** The agent whose reasoning came last (heavy mode streams several, named by `rolloutId`). */
  private rollout = MAIN_ROLLOUT;
  /** The last whole reasoning line, so a repeated step header is shown once. */
  private lastLine = '';
  private reasoningOpenLine = false;
  private out: UpstreamEvent[] = [];
  private readonly text = new TagStripper((tag, head, adjacent) => this.renderTag(tag, head, adjacent));
  private readonly thinking = new TagStripper();
  /** Citation card id → url, from `cardAttachment` frames. */
  private readonly cards = new Map<string, string>();
  /** Cited url → its marker number, in first-cited order. */
  private readonly numbers = new Map<string, number>();
  private readonly emittedUrls = new Set<string>();
  private readonly toolCards = new Set<string>();
  private lastMarkerUrl: string | null = null;
  private conversationId?: string;
  private responseId?: string;
  private modelHash?: string;

  /**
   * Appends the events of one frame to `out` and returns true when the frame ends the turn
   * (`isSoftStop` or a non-empty `finalMetadata`; the frame's own token is processed first).
   * Throws a classified `UpstreamError` for an in-band error.
   */
  map(frame: unknown, out: UpstreamEvent[]): boolean {
    if (!isObj(frame)) return false;
    if (frame.error != null) throw classifyFrameError(frame.error);
    const result = frame.result;
    if (!isObj(result)) {
      unknownFrames.note('rest_frame', Object.keys(frame).sort().join(',') || '(empty)');
      return false;
    }
    this.out = out;
    if (isObj(result.conversation)) this.meta(str(result.conversation.conversationId), undefined, undefined);
    const r = result.response;
    if (!isObj(r)) {
      if (!isObj(result.conversation)) unknownFrames.note('rest_frame', `result.${Object.keys(result).sort().join(',') || '(empty)'}`);
      return false;
    }
    if (r.error != null && r.error !== false) throw classifyFrameError(r.error);
    const mr = isObj(r.modelResponse) ? r.modelResponse : undefined;
    if (mr && Array.isArray(mr.streamErrors) && mr.streamErrors.length) throw classifyFrameError(mr.streamErrors);

    const llm = isObj(r.llmInfo) ? r.llmInfo : undefined;
    const mrLlm = mr && isObj(mr.metadata) && isObj(mr.metadata.llm_info) ? mr.metadata.llm_info : undefined;
    this.meta(undefined, str(r.responseId) ?? str(mr?.responseId), str(llm?.modelHash) ?? str(mrLlm?.modelHash));

    if (r.cardAttachment != null) this.card(r.cardAttachment);
    if (Array.isArray(r.cardAttachments)) for (const c of r.cardAttachments) this.card(c);
    if (r.webSearchResults != null) this.sources(r.webSearchResults);
    if (r.citedWebSearchResults != null) this.sources(r.citedWebSearchResults);
    if (r.xSearchResults != null) this.sources(r.xSearchResults);
    if (mr) {
      if (Array.isArray(mr.cardAttachmentsJson)) for (const c of mr.cardAttachmentsJson) this.card({ jsonData: c });
      if (mr.webSearchResults != null) this.sources(mr.webSearchResults);
      if (mr.citedWebSearchResults != null) this.sources(mr.citedWebSearchResults);
    }

    const tag = r.messageTag;
    if (typeof tag === 'string' && tag && !KNOWN_TAGS.has(tag)) unknownFrames.note('rest_tag', tag);
    if (tag === 'tool_usage_card') this.toolCard(r);
    else if (typeof r.token === 'string' && r.token && tag !== 'raw_function_result') this.token(r.token, r.isThinking === true, tag, str(r.rolloutId));

    // The assembled answer fills in when the tokens carried none (docs/upstream-grok.md §4.2).
    if (mr && !this.textSeen) {
      const message = str(mr.message);
      if (message) {
        const once = new TagStripper((t, h, a) => this.renderTag(t, h, a));
        this.emitText(once.push(message) + once.end());
      }
    }
    if (mr) this.sawFinal = true;
    const ends = r.isSoftStop === true || nonEmpty(r.finalMetadata);
    if (ends) this.sawFinal = true;
    return ends;
  }

  /** End of the turn: releases text held back while deciding on a tag. */
  finish(out: UpstreamEvent[]): void {
    this.out = out;
    this.emitText(this.text.end());
    const rest = this.thinking.end();
    if (rest) this.emitReasoning(rest, false);
  }

  private token(token: string, isThinking: boolean, tag: unknown, rollout: string | undefined): void {
    if (isThinking) {
      if (rollout && rollout !== this.rollout) {
        // Another agent takes over (multi-agent heavy mode): say whose thoughts follow, as P2 does.
        this.rollout = rollout;
        this.emitReasoning(`[${rollout}]`, true);
      }
      const asLine = typeof tag === 'string' && LINE_TAGS.has(tag);
      if (asLine) {
        // A step header repeated back to back (grok.com resends notetaker state) is shown once.
        if (token === this.lastLine) return;
        this.lastLine = token;
      }
      const t = this.thinking.push(token);
      if (t) this.emitReasoning(t, asLine);
    } else if (tag === undefined || tag === null || tag === '' || tag === 'final') {
      this.emitText(this.text.push(token));
    }
    // Other tags (e.g. raw function results shown as answer) are not part of the answer.
  }

  private emitText(text: string): void {
    if (!text) return;
    this.textSeen = true;
    this.hasContent = true;
    this.out.push({ type: 'text', text });
  }

  /** `asLine`: the text is a whole line of its own (header, summary, tool note). */
  private emitReasoning(text: string, asLine: boolean): void {
    if (asLine) {
      if (this.reasoningOpenLine) text = '\n' + text;
      if (!text.endsWith('\n')) text += '\n';
    }
    this.reasoningOpenLine = !text.endsWith('\n');
    this.hasContent = true;
    this.reasoningSeen = true;
    this.out.push({ type: 'reasoning', text });
  }

  /** Emits a `meta` event with the ids that are new since the last one. */
  private meta(conversationId?: string, responseId?: string, modelHash?: string): void {
    let e: (UpstreamEvent & { type: 'meta' }) | undefined;
    if (conversationId && conversationId !== this.conversationId) {
      this.conversationId = conversationId;
      (e ??= { type: 'meta' }).conversationId = conversationId;
    }
    if (responseId && responseId !== this.responseId) {
      this.responseId = responseId;
      (e ??= { type: 'meta' }).responseId = responseId;
    }
    if (modelHash && modelHash !== this.modelHash) {
      this.modelHash = modelHash;
      (e ??= { type: 'meta' }).modelHash = modelHash;
    }
    if (e) this.out.push(e);
  }

  private cite(url: string, title?: string): void {
    if (this.emittedUrls.has(url)) return;
    this.emittedUrls.add(url);
    this.out.push(title ? { type: 'citation', url, title } : { type: 'citation', url });
  }

  /** `{results:[…]}` or a bare array; web results carry `url`, X results `postId` + `username`. */
  private sources(v: unknown): void {
    const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.results) ? v.results : undefined;
    if (!list) return;
    for (const item of list) {
      if (!isObj(item)) continue;
      const url = str(item.url) ?? (str(item.postId) && str(item.username) ? `https://x.com/${item.username}/status/${item.postId}` : undefined);
      if (url) this.cite(url, str(item.title));
    }
  }

  /** Remembers citation cards (`{id, url}`) so inline render tags can be resolved. */
  private card(c: unknown): void {
    let data: unknown = isObj(c) ? (c.jsonData ?? c) : c;
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch {
        return; // a malformed card only loses its citation
      }
    }
    if (!isObj(data)) return;
    const type = str(data.cardType);
    if (type && !KNOWN_CARD_TYPES.has(type)) unknownFrames.note('card', type);
    const id = str(data.id);
    const url = str(data.url);
    if (id && url) this.cards.set(id, url);
  }

  /** A server-side tool call becomes a one-line note in the reasoning, e.g. `🔍 web_search: latest news`. */
  private toolCard(r: Obj): void {
    const card = isObj(r.toolUsageCard) ? r.toolUsageCard : undefined;
    const id = str(r.toolUsageCardId) ?? str(card?.toolUsageCardId);
    if (!card || (id && this.toolCards.has(id))) return;
    for (const [key, value] of Object.entries(card)) {
      if (key === 'toolUsageCardId' || !isObj(value)) continue;
      if (id) this.toolCards.add(id);
      const args = isObj(value.args) ? value.args : {};
      const arg = str(args.query) ?? str(args.url) ?? str(args.keyword) ?? Object.values(args).find((a): a is string => typeof a === 'string' && a !== '');
      const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      const emoji = TOOL_EMOJI.find(([re]) => re.test(key))?.[1] ?? '🔧';
      this.emitReasoning(`${emoji} ${name}${arg ? `: ${arg}` : ''}`, true);
      return;
    }
  }

  /** Replacement for a removed tag: an inline citation becomes ` [[N]](url)`, anything else nothing. */
  private renderTag(tag: string, head: string, adjacent: boolean): string {
    if (tag !== 'grok:render') return '';
    const type = /\btype\s*=\s*"([^"]*)"/.exec(head)?.[1];
    const cardType = /\bcard_type\s*=\s*"([^"]*)"/.exec(head)?.[1];
    if (type !== 'render_inline_citation' && cardType !== 'citation') return '';
    const id = /\bcard_id\s*=\s*"([^"]*)"/.exec(head)?.[1];
    const url = id ? this.cards.get(id) : undefined;
    if (!url) return '';
    // Back-to-back markers for the same source collapse into one.
    if (adjacent && url === this.lastMarkerUrl) return '';
    this.lastMarkerUrl = url;
    let n = this.numbers.get(url);
    if (n === undefined) this.numbers.set(url, (n = this.numbers.size + 1));
    this.cite(url);
    return ` [[${n}]](${url})`;
  }
}

function nonEmpty(v: unknown): boolean {
  if (!isObj(v)) return false;
  for (const _ in v) return true;
  return false;
}
