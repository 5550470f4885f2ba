import type { FastifyReply } from 'fastify';
import type { UpstreamEvent } from '../../core/events.js';
import type { ModelSpec, ProviderName } from '../../core/models.js';
import { endOnCutoff } from '../../http/shutdown.js';
import { sendSse } from '../../http/sse.js';
import { reportingEvents } from '../../pool/report-events.js';
import type { Services } from '../../services.js';
import type { TokenUsage } from '../../stats/pricing.js';
import { applyIntentStages } from '../../tools/apply.js';
import { generateJson } from '../../tools/json-output.js';
import { chatBody, collectTurn, turnEvents, usage, type Turn } from '../../translators/chat-collect.js';
import type { ChatPlan } from '../../translators/chat-completions.js';
import { streamChat } from '../../translators/chat-stream.js';

/**
 * Runs a planned chat completion: n generations (each its own lease), the emulated stages on
 * each (tools, limits), the JSON check with one retry for `response_format`, then one body or
 * one SSE stream.
 *
 * Streams with `response_format` json_object/json_schema are buffered: the answer must be
 * checked (and maybe regenerated) before anything is sent, so it is generated whole, checked,
 * and then replayed as chunks; a failed check is a plain HTTP error, never a stream that ends in
 * invalid JSON with `finish_reason: "stop"`.
 */
export interface ChatRun {
  services: Services;
  model: ModelSpec;
  plan: ChatPlan;
  signal: AbortSignal;
  tags?: string[];
  /** Bookkeeping hook: the account of the first generation, and total tokens when known. */
  note(accountId: string, tokens?: number): void;
  /** Cost hook: one generation's tokens on the provider that served it (priced by the route). */
  charge(provider: ProviderName, usage: TokenUsage): void;
}

type Generated = { turn: Turn; accountId: string; provider: ProviderName };

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** One whole generation; nothing is sent yet, so any failure may still move to another account. */
async function generate(run: ChatRun): Promise<Generated> {
  const { services, model, plan, signal } = run;
  const acq = await services.pool.acquire(
    model,
    signal,
    async (lease) => collectTurn(applyIntentStages(await services.chat.openChat(plan.intent, { lease, signal }), plan.intent)),
    run.tags,
  );
  await acq.release({ kind: 'success' });
  if (plan.singleToolCall) acq.value.toolCalls.splice(1);
  return { turn: acq.value, accountId: acq.lease.accountId, provider: acq.lease.provider ?? 'grok' };
}

/** A generation whose JSON output, if `response_format` asks for one, was extracted and checked (tools/json-output.ts). */
function generateChecked(run: ChatRun): Promise<Generated> {
  const format = run.plan.jsonFormat;
  if (!format) return generate(run);
  return generateJson(
    format,
    'response_format',
    () => generate(run),
    ({ turn }) => (turn.reason !== 'stop' || turn.toolCalls.length ? null : turn.text),
    (got, json) => {
      got.turn.text = json;
      return got;
    },
  );
}

export async function runChatCompletion(run: ChatRun, reply: FastifyReply): Promise<unknown> {
  const { services, plan } = run;
  const keepaliveMs = services.config().performance.sse_keepalive_sec * 1000;
  if (!plan.stream || plan.jsonFormat) {
    const results = await Promise.all(range(plan.n).map(() => generateChecked(run)));
    const body = chatBody(plan, results.map((r) => r.turn));
    run.note(results[0]!.accountId, body.usage.total_tokens);
    // Each generation read the prompt and wrote its answer on its own credential: priced one by
    // one, on the provider's counts or (grok.com) the estimate the body shows.
    for (const r of results) {
      const u = usage(plan, [r.turn]);
      run.charge(r.provider, { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, estimated: !r.turn.reported });
    }
    if (!plan.stream) return body;
    return sendSse(reply, streamChat(plan, results.map((r) => turnEvents(r.turn))), keepaliveMs);
  }
  // One controller for the n upstreams: if one cannot start, the others are closed.
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(run.signal.reason);
  if (run.signal.aborted) onAbort();
  else run.signal.addEventListener('abort', onAbort, { once: true });
  const opened = await Promise.allSettled(
    range(plan.n).map(() =>
      services.pool.acquire(run.model, ctl.signal, (lease) => services.chat.openChat(plan.intent, { lease, signal: ctl.signal }), run.tags),
    ),
  );
  const failed = opened.find((r) => r.status === 'rejected');
  if (failed) {
    run.signal.removeEventListener('abort', onAbort);
    ctl.abort();
    for (const r of opened) if (r.status === 'fulfilled') await r.value.release({ kind: 'aborted' });
    throw failed.reason;
  }
  const acquired = opened.map((r) => (r as PromiseFulfilledResult<Awaited<ReturnType<typeof services.pool.acquire<AsyncIterable<UpstreamEvent>>>>>).value);
  run.note(acquired[0]!.lease.accountId);
  // Stages inside `reporting`: a stage that cuts early ends the turn as a success.
  const cutoff = reply.server.streamCutoff.signal;
  const sources = acquired.map((a) => endOnCutoff(reportingEvents(applyIntentStages(a.value, plan.intent), ctl.signal, a.release), cutoff));
  // Priced once the stream ended whole, per choice on its provider: the provider's usage report,
  // or (grok.com, which sends none) the estimate the usage chunk shows.
  return sendSse(reply, streamChat(plan, sources, (i, u) => run.charge(acquired[i]!.lease.provider ?? 'grok', u)), keepaliveMs);
}
