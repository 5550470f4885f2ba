import { UpstreamError } from '../../errors.js';
import type { ImageUpstream } from '../types.js';
import type { XaiClient } from './client.js';

/**
 * Image generation over the xAI API's `POST /images/generations` (OpenAI-shaped). Asked for as
 * base64 so the server caches and serves the bytes like grok.com's images; xAI takes no size,
 * quality or style, so those stay with the route's own handling.
 */
export function createXaiImageUpstream(client: XaiClient): ImageUpstream {
  return {
    async generate(lease, req, signal) {
      const body = await client.json<{ data?: { b64_json?: string }[] }>('POST', 'images/generations', lease.token, { model: lease.mode, prompt: req.prompt, n: req.n, response_format: 'b64_json' }, signal);
      const images = (body.data ?? []).filter((d) => typeof d.b64_json === 'string').map((d) => Buffer.from(d.b64_json!, 'base64'));
      if (!images.length) throw new UpstreamError(502, 'upstream_bad_response', 'The xAI API answered an image request without images.', 'retry-other', 'none', undefined, 200);
      return { images, moderated: 0 };
    },
  };
}
