import { randomUUID } from 'node:crypto';
import { classifyGatewayError } from './classify.js';
import { UpstreamError } from '../../errors.js';

/**
 * The mgw gateway's JSON events (spec/upstream-chat.md §3.2–§3.3): the client frames we send, and
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

/** `conversation.item.create`: one mention chunk per attachment, then the text (§3.2). */
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

const rest = (r: Obj) => ({ result: { response: r } });
const snakeToCamel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * One server event → REST frames. Throws a classified UpstreamError for `error`, a stream error,
 * a `response.done` that did not complete, and `session.ended` before the end.
 */
export function translateEvent(event: Obj): Translated {
  const frames: unknown[] = [];
  switch (event.type) {
    case 'conversation.attached': {
      const id = str(obj(event.conversation)?.id);
      if (id) frames.push({ result: { conversation: { conversationId: id } } });
      break;
    }
    case 'response.chunk':
      chunk(obj(event.chunk) ?? {}, frames);
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
      throw classifyGatewayError(event.error ?? event);
    case 'session.ended':
      throw new UpstreamError(502, 'upstream_stream_error', 'grok.com ended the gateway session before the answer was complete.', 'retry-other', 'none', undefined, 200);
    default:
      break; // pongs, acks and events this server does not use
  }
  return { frames, end: false };
}

/** `response.chunk` payloads: text (by channel), tool cards, tool results, citations. */
function chunk(c: Obj, frames: unknown[]): void {
  const text = obj(c.text);
  if (text && typeof text.text === 'string' && text.text) {
    const channel = typeof text.channel === 'string' ? text.channel.toUpperCase() : '';
    if (!channel || channel === 'CHANNEL_ASSISTANT_RESPONSE') frames.push(rest({ token: text.text, isThinking: false, messageTag: 'final' }));
    else if (channel.includes('ANALYSIS') || channel.includes('REASONING')) frames.push(rest({ token: text.text, isThinking: true }));
    // other channels (follow-ups, UI hints) are not part of the answer
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
