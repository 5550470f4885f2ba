import type { Config } from '../../config/schema.js';
import type { ImageUpstream } from '../types.js';
import { drawImages, editImage } from './imagine/edit.js';
import { imagineRound } from './imagine/ws-client.js';
import type { GrokTransport } from './transport/index.js';

/**
 * grok.com's images behind the provider interface: imagine rounds over its WebSocket (previews,
 * per-slot moderation), edits (upload, then imageToImage) and generation through the chat path.
 */
export function createGrokImageUpstream(config: () => Config, grok: GrokTransport): ImageUpstream {
  return {
    async generate(lease, req, signal) {
      const round = await imagineRound(config(), grok, lease.token, { prompt: req.prompt, aspectRatio: req.aspectRatio ?? '1:1', n: req.n, nsfw: config().image.nsfw }, signal, () => {});
      const images = round.flatMap((i) => (i.bytes ? [i.bytes] : []));
      return { images, moderated: round.length - images.length };
    },
    generateRound: (lease, req, signal, onPartial) => imagineRound(config(), grok, lease.token, req, signal, onPartial),
    edit: (lease, req, signal) => editImage(config(), grok, lease.token, req.prompt, req.inputs, req.aspectRatio, signal),
    draw: (lease, prompt, signal) => drawImages(config(), grok, lease.token, lease.mode, prompt, signal),
  };
}
