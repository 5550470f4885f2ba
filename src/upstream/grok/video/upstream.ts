import type { VideoUpstream } from '../../types.js';
import { downloadAsset } from '../assets.js';
import type { GrokClient } from '../client.js';
import { generateVideo } from './client.js';

/** grok.com's video behind the provider interface: the generation (client.ts), then the MP4 fetched with the account's cookie. */
export function createGrokVideoUpstream(client: GrokClient): VideoUpstream {
  return {
    async generate(lease, req, image, signal, onProgress) {
      const result = await generateVideo(client, lease.token, req, image, signal, onProgress);
      return downloadAsset(client, lease.token, result.videoUrl, signal);
    },
  };
}
