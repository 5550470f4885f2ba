import type { Config } from '../../config/schema.js';
import type { ChatUpstream, Provider } from '../types.js';
import { ATTR, noteOnActiveSpan } from '../../tracing/tracing.js';
import { createGrokAccountUpstream } from './account.js';
import { GrokClient } from './client.js';
import { createGrokImageUpstream } from './images.js';
import { unknownFrames } from './unknown-frames.js';
import { createGrokVideoUpstream } from './video/upstream.js';
import { createRestChatUpstream } from './rest-chat.js';
import type { GrokTransport } from './transport/index.js';
import { createWsChatUpstream } from './ws-chat.js';

/**
 * grok.com as a provider: chat over the mgw WebSocket or the REST endpoint (grok.chat_transport,
 * read per turn so a settings change applies to the next request), and its images (imagine rounds,
 * edits, the chat path), video and accounts (quota, tier, NSFW setup, anti-bot recovery).
 * Every capability shares one GrokClient (client.ts: URLs, timeouts, identity headers, transport,
 * classification), built here once. The transport belongs to bootstrap.ts, which closes it.
 */
export function createGrokProvider(config: () => Config, grok: GrokTransport): Provider {
  const client = new GrokClient(config, grok);
  const ws = createWsChatUpstream(client);
  const rest = createRestChatUpstream(client);
  const chat: ChatUpstream = {
    openChat: (intent, ctx) => {
      const transport = config().grok.chat_transport;
      noteOnActiveSpan({ [ATTR.transport]: transport });
      return (transport === 'ws' ? ws : rest).openChat(intent, ctx);
    },
  };
  return { name: 'grok', chat, images: createGrokImageUpstream(client), video: createGrokVideoUpstream(client), account: createGrokAccountUpstream(client), unknownFrames: () => unknownFrames.snapshot(), close: async () => {} };
}
