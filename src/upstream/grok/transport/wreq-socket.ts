import type { Session, WebSocket as WreqSocket } from 'wreq-js';
import type { GrokSocket, GrokSocketHandlers } from './types.js';
import { networkError } from './wreq-body.js';

export interface WreqSocketOptions {
  url: string;
  maxPayload: number;
  handshakeTimeoutMs: number;
  /**
   * A session to open the socket with, its upgrade headers (in Chrome's order) and how to give the
   * session back when the socket is done (which also cuts its relay connection).
   */
  connect(): Promise<{ session: Session; headers: [string, string][]; release: () => void }>;
}

/** Headers and body explaining a refused upgrade of this status (wreq-js reports only the status). */
export type RefusalReason = (status: number) => Promise<{ headers: Record<string, string | string[]>; body: string }>;

/**
 * One WebSocket through wreq-js (Chrome's ClientHello with ALPN http/1.1), adapted to the
 * transport's event interface: `onOpen`, text `onMessage`, one `onClose`, and `onRefused` with the
 * reason of a refused upgrade. Closing or terminating also cuts the relay connection, so it is gone
 * at once even when the native side lingers.
 */
export function openWreqSocket(o: WreqSocketOptions, h: GrokSocketHandlers, refusalReason: RefusalReason): GrokSocket {
  let ws: WreqSocket | undefined;
  let release: (() => void) | undefined;
  let state: 'connecting' | 'open' | 'closed' = 'connecting';
  const finish = (code: number) => {
    if (state === 'closed') return;
    state = 'closed';
    clearTimeout(handshake);
    release?.();
    h.onClose(code);
  };
  const handshake = setTimeout(() => {
    if (state !== 'connecting') return;
    h.onError(Object.assign(new Error(`WebSocket handshake not finished within ${o.handshakeTimeoutMs} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }));
    finish(1006);
  }, o.handshakeTimeoutMs);
  // wreq's sockets are opened from a session, not with the standalone `websocket()`: in wreq-js
  // 3.1.0 that one verifies against its bundled roots only, so grok.ca_file (SSL_CERT_FILE) never
  // reached the sockets (measured: CERTIFICATE_VERIFY_FAILED where a session's socket connects,
  // with the same ClientHello and upgrade headers).
  const connect = async (): Promise<WreqSocket> => {
    const c = await o.connect();
    release = c.release;
    if (state === 'closed') {
      c.release();
      throw new Error('closed before the handshake');
    }
    return c.session.websocket(o.url, { headers: c.headers, maxFrameSize: o.maxPayload, maxMessageSize: o.maxPayload });
  };
  connect().then(
    (socket) => {
      ws = socket;
      if (state === 'closed') return safeClose(socket);
      state = 'open';
      clearTimeout(handshake);
      socket.onmessage = (e) => {
        if (typeof e.data === 'string') h.onMessage(e.data);
      };
      socket.onerror = (e) => h.onError(networkError(new Error(e.message ?? 'WebSocket error')));
      socket.onclose = (e) => finish(e.code);
      h.onOpen();
    },
    (e: unknown) => {
      if (state === 'closed') return;
      const status = /unexpected status code:?\s*(\d{3})/i.exec(String((e as Error)?.message ?? e));
      if (!status) {
        h.onError(networkError(e));
        return finish(1006);
      }
      void refusalReason(Number(status[1])).then(({ headers, body }) => {
        if (state === 'closed') return;
        h.onRefused(Number(status[1]), headers, body);
        finish(1006);
      });
    },
  );
  return {
    get isOpen() {
      return state === 'open';
    },
    send: (text) => {
      if (state !== 'open') return;
      try {
        ws?.send(text);
      } catch (e) {
        // The native side already dropped the connection; its close event follows.
        h.onError(networkError(e));
      }
    },
    close: (code = 1000) => {
      if (state !== 'open') return finish(1006);
      safeClose(ws, code);
      // A peer that never answers the close frame must not hold the connection.
      setTimeout(() => finish(1006), 1000).unref();
    },
    terminate: () => {
      safeClose(ws);
      finish(1006);
    },
    pause: () => {},
    resume: () => {},
  };
}

function safeClose(ws: WreqSocket | undefined, code?: number): void {
  try {
    ws?.close(code);
  } catch {
    // already gone
  }
}
