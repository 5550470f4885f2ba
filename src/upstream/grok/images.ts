import type { ImageUpstream } from '../types.js';
import type { GrokClient } from './client.js';
import { drawImages, editImage } from './imagine/edit.js';
import { imagineRound } from './imagine/ws-client.js';

/**
 * grok.com's images behind the provider interface: imagine rounds over its WebSocket (previews,
 * per-slot moderation), edits (upload, then imageToImage) and generation through the chat path.
 */
export function createGrokImageUpstream(client: GrokClient): ImageUpstream {
  return {
    async generate(lease, req, signal) {
      const round = await imagineRound(client, lease.token, { prompt: req.prompt, aspectRatio: req.aspectRatio ?? '1:1', n: req.n, nsfw: client.config.image.nsfw }, signal, () => {});
      const images = round.flatMap((i) => (i.bytes ? [i.bytes] : []));
      return { images, moderated: round.length - images.length };
    },
    generateRound: (lease, req, signal, onPartial) => imagineRound(client, lease.token, req, signal, onPartial),
    edit: (lease, req, signal) => editImage(client, lease.token, req.prompt, req.inputs, req.aspectRatio, signal),
    draw: (lease, prompt, signal) => drawImages(client, lease.token, lease.mode, prompt, signal),
  };
}
