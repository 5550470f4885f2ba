import { randomUUID } from 'node:crypto';
import { classifyGatewayError } from './classify.js';
import { UpstreamError } from '../../errors.js';
import { unknownFrames } from './unknown-frames.js';

/**
 * The mgw gateway's JSON events (docs/upstream-grok.md §3.2–§3.3): the client frames we send, and
 * a translation of the server's events into the REST frame shape `ResponseMapper` already reads
 * (the same trick grok2api HEAD uses: one parser for both generations). So reasoning, answer text,
 * tool notes, sources and inline citation markers come out identical on both transports.
 */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

// ---- client → server ----

export function sessionCreate(eventId: string, mode: string, grok: { temporary: boolean; disable_memory: boolean }): string {
  return JSON.stringify({
    event: {
      type: 'session.create',
      event_id: eventId,
      session: {
        model: mode,
        x_grok: {
          protocol_capabilities: ['conversation_attached', 'custom_methods_v1'],
          use_chunk: true,
          enable_side_by_side: true,
          force_side_by_side: false,
          enable_image_generation: true,
          image_generation_count: 2,
          disable_text_follow_ups: false,
          disable_artifact: true,
          force_concise: false,
          keep_context: false,
          is_temporary: grok.temporary,
          disable_memory: grok.disable_memory,
        },
      },
    },
  });
}

/** `conversation.item.create`: one mention chunk per attachment, then the text (docs/upstream-grok.md §3.2). */
export function itemCreate(sessionId: string, message: string, fileIds: readonly string[]): string {
  const chunks: Obj[] = fileIds.map((id) => ({ mention: { target: { file_mention: { file_id: id } } } }));
  chunks.push({ text: { text: message } });
  const item: Obj = { type: 'message', role: 'user', x_grok: { client_message_id: randomUUID(), input_chunks: chunks } };
  const event: Obj = { type: 'conversation.item.create', event_id: `evt_msg_${Date.now()}`, item };
  if (fileIds.length) {
    item.file_attachment_ids = [...fileIds];
    event.file_attachment_ids = [...fileIds];
  }
  return JSON.stringify({ session_id: sessionId, event });
}

export const responseCreate = (sessionId: string) => JSON.stringify({ session_id: sessionId, event: { type: 'response.create', event_id: `evt_resp_${Date.now()}` } });
export const heartbeat = () => JSON.stringify({ event: { type: 'ping', event_id: `evt_hb_${Date.now()}` } });

// ---- server → client ----

export interface Translated {
  /** REST-shaped frames for ResponseMapper, in order. */
  frames: unknown[];
  /** `response.done`: the turn is over. */
  end: boolean;
}

/**
 * What one turn's translation remembers between events: the phase grok.com announced with its
 * `phase_marker` chunks (2026-10 frames: KIND_THINKING_START, then KIND_RESPONSE_START), so text
 * on a channel this server does not know is still placed on the right side of the answer.
 */
export interface GatewayTurnState {
  phase: 'none' | 'thinking' | 'response';
}

export const newGatewayTurnState = (): GatewayTurnState => ({ phase: 'none' });

const rest = (r: Obj) => ({ result: { response: r } });
const snakeToCamel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Events that carry nothing for the answer but are part of a normal exchange. */
const QUIET_EVENTS = new Set(['ping', 'pong', 'session.created', 'response.created']);
/** Chunk keys read below, and those a turn carries without meaning for the answer (layout, follow-up suggestions). */
const KNOWN_CHUNK_KEYS = new Set(['text', 'tool_usage_card', 'tool_result', 'render_citation', 'phase_marker', 'metadata', 'ui_layout', 'follow_up_suggestions']);
/**
 * Channels as names or as the proto enum numbers (RESPONSE=1, THINKING=2, NOTETAKER_HEADER=3,
 * NOTETAKER_SUMMARY=4, as a published proto of the gateway numbers them).
 */
const CHANNEL_NUMBERS: Record<number, string> = {
  1: 'CHANNEL_ASSISTANT_RESPONSE',
  2: 'CHANNEL_ASSISTANT_THINKING',
  3: 'CHANNEL_ASSISTANT_NOTETAKER_HEADER',
  4: 'CHANNEL_ASSISTANT_NOTETAKER_SUMMARY',
};

/**
 * Where a text chunk's channel belongs. Reasoning comes on several channels: the notetaker's
 * step titles and summaries (whole lines, as REST's `header`/`summary` tags), the model's own
 * thinking, and the older ANALYSIS/REASONING names. An unknown channel is counted and, inside a
 * thinking phase, kept as reasoning rather than lost.
 */
function channelRole(raw: unknown, st: GatewayTurnState): { role: 'answer' | 'reasoning' | 'drop'; tag?: string } {
  const channel = typeof raw === 'number' ? (CHANNEL_NUMBERS[raw] ?? `CHANNEL_${raw}`) : typeof raw === 'string' ? raw.toUpperCase() : '';
  if (!channel || channel === 'CHANNEL_ASSISTANT_RESPONSE') return { role: 'answer' };
  if (channel === 'CHANNEL_ASSISTANT_NOTETAKER_HEADER') return { role: 'reasoning', tag: 'header' };
  if (channel === 'CHANNEL_ASSISTANT_NOTETAKER_SUMMARY') return { role: 'reasoning', tag: 'summary' };
  if (channel.includes('THINKING') || channel.includes('ANALYSIS') || channel.includes('REASONING')) return { role: 'reasoning', tag: 'analysis' };
  unknownFrames.note('mgw_channel', channel);
  return st.phase === 'thinking' ? { role: 'reasoning', tag: 'analysis' } : { role: 'drop' };
}

/**
 * One server event → REST frames. Throws a classified UpstreamError for `error`, a stream error,
 * a `response.done` that did not complete, and `session.ended` before the end.
 */
export function translateEvent(event: Obj, st: GatewayTurnState = newGatewayTurnState()): Translated {
  const frames: unknown[] = [];
  switch (event.type) {
    case 'conversation.attached': {
      const id = str(obj(event.conversation)?.id);
      if (id) frames.push({ result: { conversation: { conversationId: id } } });
      break;
    }
    case 'response.chunk':
      chunk(obj(event.chunk) ?? {}, frames, st);
      break;
    case 'response.output_text.delta':
      if (str(event.delta)) frames.push(rest({ token: event.delta, isThinking: false, messageTag: 'final' }));
      break;
    case 'response.output_text.done':
      // Used by the mapper only when no answer text arrived before.
      if (str(event.text)) frames.push(rest({ modelResponse: { message: event.text } }));
      break;
    case 'response.search.result': {
      const r = obj(event.result);
      if (str(r?.url)) frames.push(rest({ webSearchResults: { results: [{ url: r!.url, title: r!.title }] } }));
      break;
    }
    case 'response.grok.output': {
      const out = obj(event.output) ?? {};
      if (out.stream_error != null) throw classifyGatewayError(out.stream_error);
      if (out.card_attachment != null) frames.push(rest({ cardAttachment: out.card_attachment }));
      for (const k of Object.keys(out)) if (k !== 'card_attachment') unknownFrames.note('mgw_chunk', `output.${k}`);
      break;
    }
    case 'response.done': {
      const r = obj(event.response) ?? {};
      const status = str(r.status);
      if (status && status !== 'completed') throw classifyGatewayError({ message: `the response ended with status '${status}'` });
      if (str(r.id)) frames.push(rest({ responseId: r.id }));
      return { frames, end: true };
    }
    case 'error':
    case 'response.error':
      throw classifyGatewayError(event.error ?? event);
    case 'session.ended':
      throw new UpstreamError(502, 'upstream_stream_error', 'grok.com ended the gateway session before the answer was complete.', 'retry-other', 'none', undefined, 200);
    default:
      if (typeof event.type === 'string' && !QUIET_EVENTS.has(event.type)) unknownFrames.note('mgw_event', event.type);
      break;
  }
  return { frames, end: false };
}

/** `response.chunk` payloads: phase markers, text (by channel), tool cards, tool results, citations. */
function chunk(c: Obj, frames: unknown[], st: GatewayTurnState): void {
  for (const k of Object.keys(c)) if (!KNOWN_CHUNK_KEYS.has(k)) unknownFrames.note('mgw_chunk', k);
  const marker = obj(c.phase_marker);
  if (marker) {
    const kind = str(marker.kind) ?? '';
    if (kind === 'KIND_THINKING_START') st.phase = 'thinking';
    else if (kind === 'KIND_RESPONSE_START') st.phase = 'response';
    else unknownFrames.note('mgw_phase', kind || '(none)');
  }
  const text = obj(c.text);
  if (text && typeof text.text === 'string' && text.text) {
    const { role, tag } = channelRole(text.channel, st);
    if (role === 'answer') frames.push(rest({ token: text.text, isThinking: false, messageTag: 'final' }));
    else if (role === 'reasoning') frames.push(rest({ token: text.text, isThinking: true, messageTag: tag }));
  }
  const card = obj(c.tool_usage_card);
  if (card) {
    const id = str(card.tool_usage_card_id) ?? str(card.id);
    const toolUsageCard: Obj = { toolUsageCardId: id };
    for (const [k, v] of Object.entries(card)) {
      const tool = obj(v);
      if (!tool || k === 'tool_usage_card_id' || k === 'id') continue;
      toolUsageCard[snakeToCamel(k)] = { args: obj(tool.args) ?? (str(tool.query) ? { query: tool.query } : {}) };
    }
    frames.push(rest({ messageTag: 'tool_usage_card', isThinking: true, toolUsageCardId: id, toolUsageCard }));
  }
  const result = obj(c.tool_result);
  if (result) {
    const pages = obj(result.web_search)?.webpages;
    if (Array.isArray(pages)) frames.push(rest({ webSearchResults: { results: pages.filter(obj).map((p) => ({ url: p.url, title: p.title })) } }));
    const posts = obj(result.x_post)?.posts;
    if (Array.isArray(posts)) {
      const results = posts.filter(obj).map((p) => ({ postId: str(p.post_id) ?? str(p.postId), username: str(p.userhandle) ?? str(p.username) }));
      frames.push(rest({ xSearchResults: { results } }));
    }
  }
  const cite = obj(c.render_citation);
  if (cite && str(cite.url)) {
    // A citation rendered at this point of the answer: the same card + inline tag REST sends.
    const id = str(cite.id) ?? `mgw-cite-${String(cite.citation_id ?? '')}`;
    frames.push(rest({ cardAttachment: { jsonData: JSON.stringify({ id, url: cite.url }) } }));
    frames.push(rest({ token: `<grok:render card_id="${id.replace(/"/g, '')}" card_type="citation" type="render_inline_citation"></grok:render>`, isThinking: false, messageTag: 'final' }));
  }
}
