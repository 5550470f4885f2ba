import type { FastifyInstance } from 'fastify';
import { resolveModel } from '../../config/catalogue.js';
import { AppError, errors } from '../../errors.js';
import { clientAbortSignal } from '../../http/abort.js';
import { endOnCutoff } from '../../http/shutdown.js';
import { sendSse } from '../../http/sse.js';
import { fetchPolicy } from '../../lib/guarded-fetch.js';
import { parseBody } from '../../http/validate.js';
import { responsesRequestSchema } from '../../openai/responses-request.js';
import type { Services } from '../../services.js';
import { resolveAttachments } from '../../translators/content-parts.js';
import { planResponses } from '../../translators/responses-input.js';
import { collectResponse, streamResponse } from '../../translators/responses-output.js';
import { chargeTurn, foldCheckedTurn, foldTurn, openTurn, replay } from './turn.js';

const DAY_MS = 86_400_000;

function responseNotFound(id: string, param: string | null = null): AppError {
  return new AppError(404, 'invalid_request_error', 'not_found', `No stored response with id '${id}' (it never existed, was created with "store": false, was deleted or has expired).`, param);
}

/** POST /responses, GET and DELETE /responses/{id}. */
export function registerResponsesRoutes(app: FastifyInstance, services: Services): void {
  app.post('/responses', async (req, reply) => {
    const config = services.config();
    const body = parseBody(responsesRequestSchema, req.body);
    const model = resolveModel(config, body.model);
    if (!model) throw errors.modelNotFound(body.model);
    const previous = body.previous_response_id ? await services.responses.get(body.previous_response_id) : null;
    if (body.previous_response_id && !previous) throw responseNotFound(body.previous_response_id, 'previous_response_id');
    const plan = planResponses(body, model, previous, { defaultThinking: config.app.thinking, maxMessages: config.security.max_messages });
    const persist = async (response: Record<string, unknown>) => {
      if (!plan.store) return;
      const expiresAt = Date.now() + config.responses.ttl_days * DAY_MS;
      // Attachment bytes are not kept: a continuation replays the text of earlier turns only.
      const messages = plan.history.map(({ attachments: _bytes, ...m }) => m);
      await services.responses.put({ id: response.id as string, expiresAt, messages, response });
    };
    const signal = clientAbortSignal(reply);
    // Remote URLs are fetched (guarded) and data URIs checked before any account is leased.
    await resolveAttachments(plan.attachments, { policy: fetchPolicy(config.security), maxAttachments: config.security.max_attachments }, signal);
    const keepaliveMs = config.performance.sse_keepalive_sec * 1000;
    if (plan.jsonFormat) {
      // JSON output is checked whole before anything is sent; a stream then replays it.
      const events = await foldCheckedTurn(services, req, signal, plan.intent, plan.jsonFormat, 'text.format');
      const meter = chargeTurn(services, req, plan.intent);
      if (plan.stream) return sendSse(reply, streamResponse(plan, replay(events), persist, meter), keepaliveMs);
      const response = await collectResponse(plan, replay(events), meter);
      await persist(response);
      return response;
    }
    if (!plan.stream) {
      const response = await foldTurn(services, req, signal, plan.intent, (events, meter) => collectResponse(plan, events, meter));
      await persist(response);
      return response;
    }
    const events = await openTurn(services, req, signal, plan.intent);
    return sendSse(reply, streamResponse(plan, endOnCutoff(events, reply.server.streamCutoff.signal), persist, chargeTurn(services, req, plan.intent)), keepaliveMs);
  });

  app.get<{ Params: { id: string } }>('/responses/:id', async (req) => {
    const rec = await services.responses.get(req.params.id);
    if (!rec) throw responseNotFound(req.params.id);
    return rec.response;
  });

  app.delete<{ Params: { id: string } }>('/responses/:id', async (req) => {
    if (!(await services.responses.delete(req.params.id))) throw responseNotFound(req.params.id);
    return { id: req.params.id, object: 'response', deleted: true };
  });
}
