import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { checkAdmin } from './http/auth.js';
import { installErrorHandlers } from './http/error-handler.js';
import { registerSessionRoutes } from './routes/admin/session.js';
import { registerTokenRoutes } from './routes/admin/tokens.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerChatRoutes } from './routes/v1/chat-completions.js';
import { registerModelRoutes } from './routes/v1/models.js';
import type { Services } from './services.js';

/**
 * The only place things are wired. Tests build the very same app with their own services
 * (a store in a temp dir, the upstream pointed at the fake grok.com).
 */
export async function buildApp(services: Services): Promise<FastifyInstance> {
  const config = services.config();
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // One line per request from our own onResponse hook instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: Math.floor(config.security.max_body_mb * 1024 * 1024),
    // Behind docker/nginx the client address comes from X-Forwarded-For.
    trustProxy: true,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  installErrorHandlers(app, () => services.config().security.max_body_mb);
  await app.register(cors, { origin: config.security.cors_origins.includes('*') ? true : config.security.cors_origins });

  if (config.log.requests) {
    app.addHook('onResponse', async (req, reply) => {
      req.log.info({ method: req.method, url: req.routeOptions.url ?? req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    });
  }

  registerHealthRoutes(app, services);

  // Client routes, under /v1 and (for the original Grok2API clients) without the prefix.
  for (const prefix of ['/v1', '']) {
    await app.register(
      async (scope) => {
        scope.addHook('onRequest', async (req) => services.clientKeys.check(req));
        registerModelRoutes(scope, services);
        registerChatRoutes(scope, services);
      },
      { prefix },
    );
  }

  registerSessionRoutes(app, services);
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req) => checkAdmin(req, services.appKey));
    registerTokenRoutes(scope, services);
  });
  return app;
}
