import type { FastifyInstance } from 'fastify';
import { catalogue } from '../../config/catalogue.js';
import type { UpstreamEvent } from '../../core/events.js';
import { errors } from '../../errors.js';
import { clientAbortSignal } from '../../http/abort.js';
import { sendSse } from '../../http/sse.js';
import { parseBody } from '../../http/validate.js';
import { chatRequestSchema } from '../../openai/chat-request.js';
import { failureOutcome } from '../../pool/pool.js';
import type { Services } from '../../services.js';
import type { Outcome } from '../../store/types.js';
import { collectChat, planChat, streamChat } from '../../translators/chat-completions.js';

/**
 * Passes events through and reports how the turn ended once it has (success, failure after the
 * first byte, or the client going away), which releases the account's slot.
 */
async function* reporting(events: AsyncIterable<UpstreamEvent>, signal: AbortSignal, release: (o: Outcome) => Promise<void>) {
  let outcome: Outcome = { kind: 'aborted' };
  try {
    for await (const e of events) yield e;
    outcome = { kind: 'success' };
  } catch (err) {
    outcome = signal.aborted ? { kind: 'aborted' } : failureOutcome(err);
    throw err;
  } finally {
    await release(outcome);
  }
}

/** POST /chat/completions: parse → plan → lease and prime → collect or stream. */
export function registerChatRoutes(app: FastifyInstance, services: Services): void {
  app.post('/chat/completions', async (req, reply) => {
    const config = services.config();
    const body = parseBody(chatRequestSchema, req.body);
    const model = catalogue(config).get(body.model);
    if (!model) throw errors.modelNotFound(body.model);
    const plan = planChat(body, model, {
      defaultThinking: config.app.thinking,
      reasoningFormat: config.app.reasoning_format,
      maxMessages: config.security.max_messages,
    });
    const signal = clientAbortSignal(reply);
    if (!plan.stream) {
      // Nothing has been sent yet, so a failure anywhere in the turn may still move to another account.
      const { value } = await services.pool.acquire(model, signal, async (lease) => {
        const events = await services.chat.openChat(plan.intent, { lease, signal });
        return collectChat(plan, events);
      }).then(async (acq) => {
        await acq.release({ kind: 'success' });
        return acq;
      });
      return value;
    }
    const acquired = await services.pool.acquire(model, signal, (lease) => services.chat.openChat(plan.intent, { lease, signal }));
    const events = reporting(acquired.value, signal, acquired.release);
    return sendSse(reply, streamChat(plan, events), config.performance.sse_keepalive_sec * 1000);
  });
}
