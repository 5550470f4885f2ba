import type { RecordedRequest } from '../fake-grok/types.js';

/** The chat transports every chat test runs on (grok.chat_transport). */
export const TRANSPORTS = ['ws', 'rest'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** Config overrides selecting a transport, for `startStack({ overrides: transportOverrides(t) })`. */
export const transportOverrides = (t: Transport) => ({ grok: { chat_transport: t } });

/**
 * Whether a request the fake recorded is a chat turn, on either transport: REST
 * `conversations/new` or an mgw gateway session (`/ws/mgw/`, body `{message, modeId, fileAttachments, …}`).
 */
/** A chat turn on either transport: a conversations/new POST, or an mgw upgrade (not a plain GET of the gateway path). */
export const isChatTurn = (r: RecordedRequest) =>
  r.path.endsWith('/conversations/new') || (r.path === '/ws/mgw/' && String(r.headers.upgrade ?? '').toLowerCase() === 'websocket');
