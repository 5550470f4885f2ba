import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { checkAdmin } from './http/auth.js';
import { installBodyLimit } from './http/body-limit.js';
import { installErrorHandlers } from './http/error-handler.js';
import { trackRoutes } from './http/route-list.js';
import { serverOptions } from './http/server-options.js';
import { installStreamCutoff } from './http/shutdown.js';
import { registerKeyRoutes } from './routes/admin/keys.js';
import { registerMediaAdminRoutes } from './routes/admin/media-admin.js';
import { registerPoolAdminRoutes } from './routes/admin/pool-admin.js';
import { registerStatsRoutes } from './routes/admin/stats.js';
import { registerUiRoutes } from './routes/admin/ui.js';
import { registerSessionAdminRoutes, registerSessionRoutes } from './routes/admin/session.js';
import { registerTokenRoutes } from './routes/admin/tokens.js';
import { registerUpstreamAdminRoutes } from './routes/admin/upstream-admin.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerChatRoutes } from './routes/v1/chat-completions.js';
import { registerFileRoutes } from './routes/v1/files.js';
import { mediaRoutes } from './routes/v1/media.js';
import { registerMessagesRoutes } from './routes/v1/messages.js';
import { registerModelRoutes } from './routes/v1/models.js';
import { registerResponsesRoutes } from './routes/v1/responses.js';
import type { Services } from './services.js';
import { installStatsHook } from './stats/hook.js';
import { installMetrics } from './metrics/http.js';
import { tracingOn } from './tracing/tracing.js';

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
    // trust_proxy, request_timeout_sec (start-up settings, like the listen address).
    ...serverOptions(config),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  trackRoutes(app);
  installStreamCutoff(app);
  installErrorHandlers(app, () => services.config().security.max_body_mb);
  installBodyLimit(app, () => services.config().security.max_body_mb);
  await app.register(cors, { origin: config.security.cors_origins.includes('*') ? true : config.security.cors_origins });

  // OpenTelemetry (OTEL_EXPORTER_OTLP_ENDPOINT set): request spans; the hooks load only then.
  if (tracingOn()) (await import('./tracing/http.js')).installTracingHooks(app);

  if (config.log.requests) {
    app.addHook('onResponse', async (req, reply) => {
      req.log.info({ method: req.method, url: req.routeOptions.url ?? req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    });
  }

  // Counts and times every request; GET /metrics (Prometheus).
  installMetrics(app, services);
  registerHealthRoutes(app, services);
  // Generated media: no API key (unguessable ids), so outside the authenticated scope.
  registerFileRoutes(app, services);

  // Client routes, under /v1 and (for the original Grok2API clients) without the prefix.
  for (const prefix of ['/v1', '']) {
    await app.register(
      async (scope) => {
        scope.addHook('onRequest', async (req) => services.clientKeys.authenticate(req));
        // After body parsing: the key's model allowlist (403) and rate limits (429).
        scope.addHook('preHandler', async (req) => services.clientKeys.authorize(req));
        installStatsHook(scope, services.stats);
        registerModelRoutes(scope, services);
        registerChatRoutes(scope, services);
        registerResponsesRoutes(scope, services);
        registerMessagesRoutes(scope, services);
        await scope.register(mediaRoutes(services));
      },
      { prefix },
    );
  }

  registerSessionRoutes(app, services);
  registerUiRoutes(app);
  await app.register(async (scope) => {
    scope.addHook('onRequest', async (req) => checkAdmin(req, services.appKey, services.sessions));
    registerSessionAdminRoutes(scope, services);
    registerTokenRoutes(scope, services);
    registerPoolAdminRoutes(scope, services);
    registerKeyRoutes(scope, services);
    registerStatsRoutes(scope, services);
    registerMediaAdminRoutes(scope, services);
    registerUpstreamAdminRoutes(scope, services);
  });
  return app;
}
