import type { FastifyError, FastifyInstance } from 'fastify';
import { anthropicErrorBody, countTokensSchema, messagesRequestSchema } from '../../anthropic/schemas.js';
import { resolveModel } from '../../config/catalogue.js';
import { AppError, errors, toAppError } from '../../errors.js';
import { fromFastify } from '../../http/error-handler.js';
import { clientAbortSignal } from '../../http/abort.js';
import { endOnCutoff } from '../../http/shutdown.js';
import { sendSse } from '../../http/sse.js';
import { fetchPolicy } from '../../lib/guarded-fetch.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';
import { anthropicConversation, anthropicInputTokens, planMessages } from '../../translators/anthropic-messages-input.js';
import { collectMessage, streamMessage } from '../../translators/anthropic-messages-output.js';
import { resolveAttachments } from '../../translators/content-parts.js';
import { chargeTurn, foldTurn, openTurn } from './turn.js';

/**
 * POST /messages and /messages/count_tokens (Anthropic Messages API). They live in a child scope
 * with its own error handler, so every failure on them, including the key check of the parent
 * scope's onRequest hook and body-parse errors, leaves in Anthropic's error envelope.
 */
export function registerMessagesRoutes(scope: FastifyInstance, services: Services): void {
  void scope.register(async (app) => {
    app.setErrorHandler((err: FastifyError, req, reply) => {
      let appErr = err instanceof AppError ? err : fromFastify(err, services.config().security.max_body_mb);
      if (!appErr) {
        req.log.error({ err }, 'unhandled error');
        appErr = toAppError(err);
      }
      if (appErr.retryAfterSec !== undefined) reply.header('retry-after', String(appErr.retryAfterSec));
      return reply.status(appErr.status).send(anthropicErrorBody(appErr));
    });

    app.post('/messages', async (req, reply) => {
      const config = services.config();
      const body = parseBody(messagesRequestSchema, req.body);
      const model = resolveModel(config, body.model);
      if (!model) throw errors.modelNotFound(body.model);
      const plan = planMessages(body, model, config.security.max_messages);
      const signal = clientAbortSignal(reply);
      await resolveAttachments(plan.attachments, { policy: fetchPolicy(config.security), maxAttachments: config.security.max_attachments }, signal);
      if (!plan.stream) return foldTurn(services, req, signal, plan.intent, (events, meter) => collectMessage(plan, events, meter));
      const events = await openTurn(services, req, signal, plan.intent);
      const meter = chargeTurn(services, req, plan.intent);
      return sendSse(reply, streamMessage(plan, endOnCutoff(events, reply.server.streamCutoff.signal), meter), config.performance.sse_keepalive_sec * 1000);
    });

    app.post('/messages/count_tokens', async (req) => {
      const body = parseBody(countTokensSchema, req.body);
      if (!resolveModel(services.config(), body.model)) throw errors.modelNotFound(body.model);
      const { messages, tools } = anthropicConversation(body);
      return { input_tokens: anthropicInputTokens(messages, tools) };
    });
  });
}
