/**
 * Turns the REST NDJSON lines a scenario plans (scenarios.ts) into mgw gateway events
 * (docs/upstream-grok.md §3.3), so one script gives the same answer on both transports. The
 * shape is the one frames captured from grok.com in 2026-10 show: every chunk event names its
 * `response_id`/`item_id` and carries `metadata {step_id, phase_index}`; reasoning goes out on the
 * channel the plan names (notetaker header / summary, THINKING, …), with a `phase_marker`
 * KIND_THINKING_START before the thinking and KIND_RESPONSE_START before the answer (notetaker
 * step headers may come before both, in phase 0). Answer tokens → CHANNEL_ASSISTANT_RESPONSE
 * (inline citation tags → `render_citation` chunks), tool cards/results → `tool_usage_card` /
 * `tool_result`, in-band errors → `error` or `response.grok.output.stream_error`.
 */

type Obj = Record<string, any>;

export interface ConvertState {
  /** Citation card id → url, from cardAttachment lines (REST sends the card before the tag). */
  cards: Map<string, string>;
  citations: number;
  responseId: string | null;
  /** 0 before the markers, 1 thinking, 2 answer. */
  phase: number;
  /** Notetaker step number (a new header opens a step). */
  step: number;
}

export const newConvertState = (responseId: string | null = null): ConvertState => ({ cards: new Map(), citations: 0, responseId, phase: 0, step: 0 });

/** REST numeric error codes → the string codes the gateway uses. */
const GATEWAY_CODES: Record<number, string> = { 7: 'anti_bot', 8: 'rate_limited', 16: 'unauthenticated' };

const ev = (event: Obj) => JSON.stringify({ session_id: '', event });
/** A chunk event as the 2026-10 gateway sends it; `responseId` '' for the notetaker's late steps. */
export const chunkEvent = (c: Obj, st: ConvertState, responseId = st.responseId ?? '') =>
  ev({ type: 'response.chunk', response_id: responseId, item_id: responseId, chunk: { metadata: { step_id: st.step, phase_index: st.phase }, ...c } });

/** The phase markers due before content of phase `to` (1 thinking, 2 answer), in order. */
function enterPhase(to: number, st: ConvertState): string[] {
  const out: string[] = [];
  const marker = (phase: number, kind: string) => {
    st.phase = phase;
    out.push(chunkEvent({ phase_marker: { kind, phase_index: phase } }, st));
  };
  if (st.phase < 1 && to >= 1) marker(1, 'KIND_THINKING_START');
  if (st.phase < 2 && to >= 2) marker(2, 'KIND_RESPONSE_START');
  return out;
}
const camelToSnake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const TAG = /<grok:render\b[^>]*\bcard_id="([^"]*)"[^>]*>[\s\S]*?<\/grok:render>/g;

/**
 * One REST line → zero or more mgw text frames (the session id is filled in by the caller).
 * `channel`: the mgw channel of a reasoning line (from the plan).
 */
export function restLineToMgw(line: string, st: ConvertState, channel = 'CHANNEL_ASSISTANT_THINKING'): string[] {
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
  const chunk = (c: Obj) => chunkEvent(c, st);
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
    if (r.isThinking) {
      // A step header opens a notetaker step; before any thinking it stays in phase 0 (as captured).
      if (r.messageTag === 'header') st.step++;
      else out.push(...enterPhase(1, st));
      out.push(chunk({ text: { text: r.token, channel } }));
    } else {
      out.push(...enterPhase(2, st), ...answerToken(r.token, st));
    }
  }
  if (mr && typeof mr.message === 'string') out.push(ev({ type: 'response.output_text.done', text: mr.message.replace(TAG, '') }));
  return out;
}

/** Answer text, with each inline citation tag replaced by a render_citation chunk at its place. */
function answerToken(token: string, st: ConvertState): string[] {
  const chunk = (c: Obj) => chunkEvent(c, st);
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
