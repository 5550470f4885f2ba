import type { ChatIntent } from '../core/intent.js';
import type { ModelSpec } from '../core/models.js';
import { isAbort, upstreamErrors } from '../upstream/grok/classify.js';
import { imagineHeaders, imagineUrl } from '../upstream/grok/imagine/ws-client.js';
import { createRestChatUpstream } from '../upstream/grok/rest-chat.js';
import { createWsChatUpstream } from '../upstream/grok/ws-chat.js';
import type { ChatUpstream } from '../upstream/types.js';
import { doctorClient, doctorLease, failedLayer, type AccountContext } from './account-checks.js';
import { layer, timed } from './layer.js';
import type { LayerResult } from './report.js';

/**
 * The layers a client request actually goes through: one short chat turn on each chat transport
 * (each costs one query of the account's `fast` window) and the imagine socket's handshake (opened
 * and closed again: no image is generated, nothing is spent).
 */

/** `fast`: every tier has it, and it answers without reasoning, so the turn is quick. */
const DOCTOR_MODEL: ModelSpec = { id: 'doctor', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: false, cost: 1, ownedBy: 'xai', created: 0 };
const PROMPT = 'Reply with the single word: pong';
/** Answer text kept for the report. */
const EXCERPT = 60;

function intent(): ChatIntent {
  return { kind: 'chat', model: DOCTOR_MODEL, messages: [{ role: 'user', parts: [PROMPT] }], thinking: false };
}

async function chatTurn(id: 'chat_rest' | 'chat_ws', upstream: ChatUpstream, ctx: AccountContext): Promise<LayerResult> {
  return timed(id, async () => {
    const t = ctx.config.timeout;
    const budgetMs = (t.connect_sec + t.first_byte_sec + t.idle_sec) * 1000;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), budgetMs);
    const started = performance.now();
    try {
      const events = await upstream.openChat(intent(), { lease: doctorLease(ctx.token), signal: ac.signal });
      const firstMs = Math.round(performance.now() - started);
      let text = '';
      for await (const ev of events) if (ev.type === 'text') text += ev.text;
      const answer = text.trim().replace(/\s+/g, ' ');
      const shown = answer.length > EXCERPT ? `${answer.slice(0, EXCERPT)}…` : answer;
      return layer(id, 'ok', `Answered "${shown}" in ${Math.round(performance.now() - started)} ms (first text after ${firstMs} ms), mode fast.`);
    } catch (e) {
      // Our own budget ran out: a timeout, not a client going away.
      const err = ac.signal.aborted && isAbort(e) ? upstreamErrors.timeout(`the doctor's ${budgetMs / 1000} s for one turn`) : e;
      return failedLayer(id, err, ctx);
    } finally {
      clearTimeout(timer);
    }
  });
}

export function checkRestChat(ctx: AccountContext): Promise<LayerResult> {
  return chatTurn('chat_rest', createRestChatUpstream(doctorClient(ctx)), ctx);
}

export function checkWsChat(ctx: AccountContext): Promise<LayerResult> {
  return chatTurn('chat_ws', createWsChatUpstream(doctorClient(ctx)), ctx);
}

/** The imagine socket's upgrade, through the same transport and egress as image generation. */
export function checkImagineHandshake(ctx: AccountContext): Promise<LayerResult> {
  return timed('imagine_ws', () => {
    const { config, token } = ctx;
    // Through the GrokClient like every other grok.com call: its URL, headers, transport and classifier.
    const client = doctorClient(ctx);
    const handshakeMs = config.timeout.connect_sec * 1000 + config.timeout.first_byte_sec * 1000;
    const started = performance.now();
    return new Promise<LayerResult>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (r: LayerResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const socket = client.openWebSocket(imagineUrl(client), { headers: imagineHeaders(client, token), handshakeTimeoutMs: handshakeMs, maxPayload: 1024 * 1024, account: token }, {
        onOpen: () => {
          finish(layer('imagine_ws', 'ok', `Handshake accepted in ${Math.round(performance.now() - started)} ms; closed again without generating anything.`));
          socket.close(1000);
        },
        onMessage: () => {},
        onRefused: (status, headers, body) => finish(failedLayer('imagine_ws', client.classifyHttp(status || 502, body, headers), ctx)),
        onError: (e) => finish(failedLayer('imagine_ws', client.classifyNetwork(e), ctx)),
        onClose: (code) => finish(failedLayer('imagine_ws', client.errors.badResponse(`the imagine socket closed (code ${code}) before its handshake finished`, 0), ctx)),
      });
      if (settled) return;
      timer = setTimeout(() => {
        socket.terminate();
        finish(failedLayer('imagine_ws', client.errors.timeout('the imagine handshake'), ctx));
      }, handshakeMs + 1000);
    });
  });
}
