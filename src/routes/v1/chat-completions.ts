import type { FastifyInstance } from 'fastify';
import { resolveModel } from '../../config/catalogue.js';
import { errors } from '../../errors.js';
import { clientAbortSignal } from '../../http/abort.js';
import { clientKeyTags, forClientKey } from '../../http/auth.js';
import { parseBody } from '../../http/validate.js';
import { chatRequestSchema } from '../../openai/chat-request.js';
import type { Services } from '../../services.js';
import { requestCost } from '../../stats/pricing.js';
import { addRequestCost, noteRequest } from '../../stats/request-meta.js';
import { planChat } from '../../translators/chat-completions.js';
import { resolveAttachments } from '../../translators/content-parts.js';
import { fetchPolicy } from '../../lib/guarded-fetch.js';
import { runChatCompletion } from './chat-run.js';
import { runMediaChat } from './chat-media.js';

/** POST /chat/completions: parse → plan → lease and prime → collect or stream. */
export function registerChatRoutes(app: FastifyInstance, services: Services): void {
  app.post('/chat/completions', async (req, reply) => {
    const config = services.config();
    const body = parseBody(chatRequestSchema, req.body);
    const resolved = resolveModel(config, body.model);
    if (!resolved) throw errors.modelNotFound(body.model);
    const model = forClientKey(req, resolved);
    // Image and video models have their own pipeline (chat-media.ts).
    if (model.kind !== 'chat') return runMediaChat(services, req, reply, body, model);
    const plan = planChat(body, model, {
      defaultThinking: config.app.thinking,
      reasoningFormat: config.app.reasoning_format,
      maxMessages: config.security.max_messages,
    });
    const signal = clientAbortSignal(reply);
    // Remote URLs are fetched (guarded) and data URIs checked before any account is leased.
    await resolveAttachments(plan.attachments, { policy: fetchPolicy(config.security), maxAttachments: config.security.max_attachments }, signal);
    // n generations, emulated stages (tools, limits), JSON checks: see chat-run.ts.
    return runChatCompletion(
      {
        services,
        model,
        plan,
        signal,
        tags: clientKeyTags(req),
        note: (accountId, tokens) => noteRequest(req, { accountId, tokens }),
        charge: (provider, usage) => addRequestCost(req, requestCost(services.config(), provider, model, usage), usage.estimated === true, usage),
      },
      reply,
    );
  });
}
