/**
 * Turns the REST NDJSON lines a scenario plans (scenarios.ts) into mgw gateway events
 * (spec/upstream-chat.md §3.3), so one script gives the same answer on both transports:
 * thinking tokens → `response.chunk` on CHANNEL_ANALYSIS, answer tokens → CHANNEL_ASSISTANT_RESPONSE
 * (inline citation tags → `render_citation` chunks), tool cards/results → `tool_usage_card` /
 * `tool_result`, in-band errors → `error` or `response.grok.output.stream_error`.
 */

type Obj = Record<string, any>;

export interface ConvertState {
  /** Citation card id → url, from cardAttachment lines (REST sends the card before the tag). */
  cards: Map<string, string>;
  citations: number;
  responseId: string | null;
}

export const newConvertState = (): ConvertState => ({ cards: new Map(), citations: 0, responseId: null });

/** REST numeric error codes → the string codes the gateway uses. */
const GATEWAY_CODES: Record<number, string> = { 7: 'anti_bot', 8: 'rate_limited', 16: 'unauthenticated' };

const ev = (event: Obj) => JSON.stringify({ session_id: '', event });
const chunk = (c: Obj) => ev({ type: 'response.chunk', chunk: c });
const camelToSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const TAG = /<grok:render\b[^>]*\bcard_id="([^"]*)"[^>]*>[\s\S]*?<\/grok:render>/g;

/** One REST line → zero or more mgw text frames (the session id is filled in by the caller). */
export function restLineToMgw(line: string, st: ConvertState): string[] {
  let j: Obj;
  try {
    j = JSON.parse(line);
  } catch {
    return [line]; // not JSON on REST either: sent as is (the client ignores it)
  }
  if (j && j.error != null) {
    const e = typeof j.error === 'object' ? j.error : { message: String(j.error) };
    const code = typeof e.code === 'number' ? (GATEWAY_CODES[e.code] ?? e.code) : e.code;
    return [ev({ type: 'error', error: { code, message: e.message ?? '' } })];
  }
  const r: Obj | undefined = j?.result?.response;
  if (!r) return [];
  if (typeof r.responseId === 'string') st.responseId = r.responseId;
  if (r.error != null && r.error !== false) {
    const message = typeof r.error === 'object' ? r.error.message : String(r.error);
    return [ev({ type: 'error', error: { code: 'stream_error', message } })];
  }
  const mr: Obj | undefined = r.modelResponse;
  if (mr?.streamErrors?.length) return [ev({ type: 'response.grok.output', output: { stream_error: mr.streamErrors[0] } })];
  if (r.cardAttachment?.jsonData) {
    try {
      const card = JSON.parse(r.cardAttachment.jsonData);
      if (card.id && card.url) st.cards.set(card.id, card.url);
    } catch {
      // not a card this fake made
    }
  }
  const out: string[] = [];
  if (r.messageTag === 'tool_usage_card' && r.toolUsageCard) {
    const card: Obj = { tool_usage_card_id: r.toolUsageCardId };
    for (const [k, v] of Object.entries(r.toolUsageCard)) if (k !== 'toolUsageCardId') card[camelToSnake(k)] = v;
    out.push(chunk({ tool_usage_card: card }));
  } else if (r.messageTag === 'raw_function_result' && r.webSearchResults?.results) {
    out.push(chunk({ tool_result: { tool_call_id: r.toolUsageCardId, web_search: { webpages: r.webSearchResults.results } } }));
  } else if (typeof r.token === 'string' && r.token) {
    if (r.isThinking) out.push(chunk({ text: { text: r.token, channel: 'CHANNEL_ANALYSIS' } }));
    else out.push(...answerToken(r.token, st));
  }
  if (mr && typeof mr.message === 'string') out.push(ev({ type: 'response.output_text.done', text: mr.message.replace(TAG, '') }));
  return out;
}

/** Answer text, with each inline citation tag replaced by a render_citation chunk at its place. */
function answerToken(token: string, st: ConvertState): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of token.matchAll(TAG)) {
    if (m.index! > last) out.push(chunk({ text: { text: token.slice(last, m.index), channel: 'CHANNEL_ASSISTANT_RESPONSE' } }));
    const url = st.cards.get(m[1]!);
    if (url) out.push(chunk({ render_citation: { id: m[1], kind: 'CITATION_KIND_WEB_PAGE', url, citation_id: st.citations++ } }));
    last = m.index! + m[0].length;
  }
  if (last < token.length) out.push(chunk({ text: { text: token.slice(last), channel: 'CHANNEL_ASSISTANT_RESPONSE' } }));
  return out;
}

/** Whether an mgw frame ends the turn with an error (nothing may follow it). */
export const isErrorFrame = (frame: string) => frame.includes('"type":"error"') || frame.includes('"stream_error"');
