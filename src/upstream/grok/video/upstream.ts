import type { Config } from '../../../config/schema.js';
import type { VideoUpstream } from '../../types.js';
import { downloadAsset } from '../assets.js';
import type { GrokTransport } from '../transport/index.js';
import { generateVideo } from './client.js';

/** grok.com's video behind the provider interface: the generation (client.ts), then the MP4 fetched with the account's cookie. */
export function createGrokVideoUpstream(config: () => Config, grok: GrokTransport): VideoUpstream {
  return {
    async generate(lease, req, image, signal, onProgress) {
      const c = config();
      const result = await generateVideo(c, grok, lease.token, req, image, signal, onProgress);
      return downloadAsset(c, grok, lease.token, result.videoUrl, signal);
    },
  };
}
