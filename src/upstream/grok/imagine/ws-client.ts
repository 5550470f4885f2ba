import type { GrokClient } from '../client.js';
import { mediaErrors } from '../../media-errors.js';
import { promptMessage, readImagineFrame, resetMessage, type ImagineRequest } from './payload.js';

export interface ImagineImage {
  /** Slot position in the round. */
  order: number;
  /** Final image bytes; null when the slot was moderated. */
  bytes: Buffer | null;
  url: string;
}

interface Slot {
  order: number;
  final?: Buffer;
  url: string;
  completed: boolean;
  moderated: boolean;
}

/** `wss://<grok>/ws/imagine/listen`, derived from grok.base_url by swapping the scheme. */
export function imagineUrl(client: GrokClient): string {
  return client.wsUrl('/ws/imagine/listen');
}

/** The upgrade headers of the imagine socket (the doctor's handshake check sends the same). */
export function imagineHeaders(client: GrokClient, token: string): Record<string, string> {
  return {
    Pragma: 'no-cache',
    'Cache-Control': 'no-cache',
    'User-Agent': client.userAgent(token),
    Origin: client.origin,
    'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8',
    Cookie: client.cookie(token),
  };
}

/**
 * One imagine round on one account (docs/upstream-grok.md §7.1): connect (handshake
 * 401/403/429 classified like HTTP answers), send reset + prompt with `num_generations`, follow
 * interleaved slots until each has its final image or is moderated, then close. Previews are
 * reported through `onPartial(order, base64)`. The socket goes through `grok.proxy_url` like
 * every other upstream call.
 */
export function imagineRound(client: GrokClient, token: string, req: ImagineRequest, signal: AbortSignal, onPartial: (order: number, b64: string) => void): Promise<ImagineImage[]> {
  const config = client.config;
  const { errors } = client;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(errors.aborted());
    const headers = imagineHeaders(client, token);
    const slots = new Map<string, Slot>();
    let settled = false;
    const timer = setTimeout(() => finish(errors.timeout(`image round not finished within ${config.image.round_timeout_sec} s; image.round_timeout_sec`), true), config.image.round_timeout_sec * 1000);
    const onAbort = () => finish(errors.aborted());
    signal.addEventListener('abort', onAbort, { once: true });

    const results = (): ImagineImage[] =>
      [...slots.values()]
        .filter((s) => s.final || s.moderated)
        .sort((a, b) => a.order - b.order)
        .map((s) => ({ order: s.order, bytes: s.moderated ? null : s.final!, url: s.url }));

    /** `keepFinals`: a timeout or early close still delivers the finals already received. */
    function finish(err?: Error, keepFinals = false): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (ws.isOpen) ws.close(1000);
      else ws.terminate();
      const got = results();
      if (err && !(keepFinals && got.length)) return reject(err);
      if (!got.length) return reject(mediaErrors.noResult('image'));
      resolve(got);
    }

    const slotOf = (id: string, order: number): Slot => {
      let s = slots.get(id);
      if (!s) slots.set(id, (s = { order, url: '', completed: false, moderated: false }));
      return s;
    };
    // A slot is settled by its `completed` frame plus, unless moderated, its final image (either order).
    const done = () => [...slots.values()].filter((s) => s.completed && (s.final || s.moderated)).length >= req.n;

    const ws = client.openWebSocket(imagineUrl(client), { headers, handshakeTimeoutMs: client.timeouts.connectMs, maxPayload: 64 * 1024 * 1024, account: token }, {
      onRefused: (status, h, body) => finish(client.classifyHttp(status || 502, body, h)),
      onOpen: () => {
        ws.send(JSON.stringify(resetMessage()));
        ws.send(JSON.stringify(promptMessage(req)));
      },
      onMessage: (data) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          return finish(errors.badResponse('an imagine frame that is not JSON'));
        }
        const f = readImagineFrame(parsed);
        switch (f.kind) {
          case 'error':
            return finish(mediaErrors.imagineFrame(f.code, f.message));
          case 'start':
            slotOf(f.id, f.order);
            break;
          case 'image': {
            const s = slotOf(f.id, f.order);
            if (f.percent >= 100) {
              s.final = Buffer.from(f.blob, 'base64');
              s.url = f.url;
            } else if (f.blob) onPartial(f.order, f.blob);
            break;
          }
          case 'completed': {
            const s = slotOf(f.id, f.order);
            s.completed = true;
            s.moderated = f.moderated;
            break;
          }
        }
        if (done()) finish();
      },
      onClose: () => finish(),
      onError: (e) => finish(client.classifyNetwork(e), true),
    });
  });
}
