import type { FastifyInstance } from 'fastify';
import { enableMultipart } from '../../http/multipart.js';
import type { Services } from '../../services.js';
import { registerImageRoutes } from './images.js';
import { registerVideoTaskRoutes } from './video-tasks.js';
import { registerVideoRoutes } from './videos.js';

/**
 * The authenticated media routes (images, video tasks, OpenAI Videos) in their own scope, so
 * multipart parsing is enabled for them only.
 */
export function mediaRoutes(services: Services) {
  return async (scope: FastifyInstance): Promise<void> => {
    await enableMultipart(scope, () => services.config().security.max_body_mb);
    registerImageRoutes(scope, services);
    registerVideoTaskRoutes(scope, services);
    registerVideoRoutes(scope, services);
  };
}
