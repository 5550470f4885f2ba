import type { Config } from '../../config/schema.js';
import type { Provider } from '../types.js';
import { createXaiChatUpstream } from './chat.js';
import { XaiClient } from './client.js';
import { createXaiImageUpstream } from './images.js';
import { XaiModelList } from './models.js';

/** The official xAI API as a provider: chat (native tools, real usage), image generation, its model list. */
export function createXaiProvider(config: () => Config): Provider {
  const client = new XaiClient(config);
  const models = new XaiModelList(client, config);
  return {
    name: 'xai',
    chat: createXaiChatUpstream(client),
    images: createXaiImageUpstream(client),
    listModels: (key) => models.list(key),
    close: () => client.close(),
  };
}
