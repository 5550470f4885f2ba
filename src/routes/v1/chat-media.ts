import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UpstreamEvent } from '../../core/events.js';
import type { ModelSpec } from '../../core/models.js';
import { errors } from '../../errors.js';
import { clientAbortSignal } from '../../http/abort.js';
import { fileUrl } from '../../http/public-url.js';
import { sendSse } from '../../http/sse.js';
import { parseBody } from '../../http/validate.js';
import { Channel } from '../../lib/channel.js';
import { fetchPolicy } from '../../lib/guarded-fetch.js';
import { editImages, generateImages } from '../../media/images.js';
import type { ChatRequest } from '../../openai/chat-request.js';
import type { Services } from '../../services.js';
import { loadImageRef, normaliseImageRef } from '../../tasks/image-input.js';
import { collectChat } from '../../translators/chat-collect.js';
import { planMediaChat } from '../../translators/chat-completions.js';
import { streamChat } from '../../translators/chat-stream.js';
import { aspectForSize } from '../../translators/images.js';
import { mediaErrors } from '../../upstream/media-errors.js';
import { ASPECT_RATIOS } from './video-tasks.js';

const videoConfigSchema = z.object({
  aspect_ratio: z.enum(ASPECT_RATIOS).default('3:2'),
  video_length: z.coerce.number().refine((v) => v === 6 || v === 10, 'must be 6 or 10').nullish(),
  resolution_name: z.enum(['480p', '720p']).default('480p'),
  preset: z.enum(['fun', 'normal', 'spicy', 'custom']).default('custom'),
});
const imageConfigSchema = z.object({ n: z.coerce.number().int().min(1).max(10).default(1), size: z.string().nullish() });

/**
 * A media generation as a chat turn's neutral events: each progress line a `reasoning` event, the
 * result one `text` event, then `usage` (zeros: an image or video is not priced by tokens) and
 * `done`. The generation starts at once; a failure ends the events with that error.
 */
function mediaEvents(run: (progress: (line: string) => void) => Promise<string>): AsyncIterable<UpstreamEvent> {
  const ch = new Channel<UpstreamEvent>();
  run((line) => ch.push({ type: 'reasoning', text: line })).then(
    (result) => {
      ch.push({ type: 'text', text: result });
      ch.push({ type: 'usage', promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0 });
      ch.push({ type: 'done', reason: 'stop' });
      ch.end();
    },
    (err) => ch.fail(err),
  );
  return ch;
}

/**
 * Image and video models in /v1/chat/completions (docs/api-contract.md §4.10): the last user message
 * is the prompt; video progress is reasoning, the result is text formatted per `app.image_format`
 * / `app.video_format`. Both go through the chat translators as events, so the body and the
 * stream are shaped like every other chat answer. Bad input is refused before anything streams.
 */
export async function runMediaChat(services: Services, req: FastifyRequest, reply: FastifyReply, body: ChatRequest, model: ModelSpec): Promise<unknown> {
  const config = services.config();
  const raw = req.body as Record<string, unknown>;
  const { plan, prompt, images } = planMediaChat(body, model, { reasoningFormat: config.app.reasoning_format });
  const vc = model.kind === 'video' ? parseBody(videoConfigSchema, (raw.video_config ?? {}) as object) : null;
  const ic = model.kind === 'video' ? null : parseBody(imageConfigSchema, (raw.image_config ?? {}) as object);
  const aspectRatio = ic ? aspectForSize(ic.size) : undefined;
  if (ic && !aspectRatio) throw errors.invalidValue('image_config.size', `Invalid size '${ic.size}'.`);
  const signal = clientAbortSignal(reply);
  const imageRefs = await Promise.all(images.map((u) => normaliseImageRef(services.media.cache, u)));
  if (model.kind === 'image_edit' && !imageRefs.length) throw errors.missing('messages[].content[].image_url');
  const markdownImage = async (bytes: Buffer, i: number) =>
    config.app.image_format === 'b64_json' || config.app.image_format === 'base64'
      ? `![image${i + 1}](data:image/png;base64,${bytes.toString('base64')})`
      : `![image${i + 1}](${fileUrl(req, config, 'image', await services.media.cache.put('image', bytes))})`;

  const generate = async (progress: (line: string) => void): Promise<string> => {
    if (vc) {
      const image = imageRefs[0] ? await loadImageRef(services.media.cache, imageRefs[0], signal, fetchPolicy(config.security)) : null;
      let last = 0;
      const acquired = await services.pool.acquire(model, signal, async (lease) => {
        const video = services.providers.video(lease.provider ?? 'grok');
        if (!video) throw mediaErrors.unsupported(`video generation on provider '${lease.provider ?? 'grok'}'`);
        const bytes = await video.generate(lease, { prompt, aspectRatio: vc.aspect_ratio, duration: vc.video_length ?? 6, resolution: vc.resolution_name, preset: vc.preset }, image, signal, (p) => {
          if (p > last) progress(`Video generation ${p}%\n`);
          last = p;
        });
        return services.media.cache.put('video', bytes);
      });
      await acquired.release({ kind: 'success' });
      const url = fileUrl(req, config, 'video', acquired.value);
      const f = config.app.video_format;
      return f === 'html' ? `<video controls="" preload="none" src="${url}"></video>` : f === 'markdown' ? `[video](${url})` : url;
    }
    const batch =
      model.kind === 'image_edit' || imageRefs.length
        ? await editImages(services, model, { prompt, inputs: await Promise.all(imageRefs.map((r) => loadImageRef(services.media.cache, r, signal, fetchPolicy(config.security)))), n: ic!.n }, signal)
        : await generateImages(services, model, { prompt, aspectRatio: aspectRatio!, n: ic!.n }, signal, undefined, undefined);
    return (await Promise.all(batch.images.map(markdownImage))).join('\n');
  };

  const events = mediaEvents(generate);
  if (!plan.stream) return collectChat(plan, events);
  return sendSse(reply, streamChat(plan, events), config.performance.sse_keepalive_sec * 1000);
}
