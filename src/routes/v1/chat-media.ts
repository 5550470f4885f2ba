import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ModelSpec } from '../../core/models.js';
import { AppError, errors, toAppError } from '../../errors.js';
import { clientAbortSignal } from '../../http/abort.js';
import { fileUrl } from '../../http/public-url.js';
import { sendSse, sseData } from '../../http/sse.js';
import { parseBody } from '../../http/validate.js';
import { Channel } from '../../lib/channel.js';
import { fetchPolicy } from '../../lib/guarded-fetch.js';
import { randomId } from '../../lib/ids.js';
import { editImages, generateImages } from '../../media/images.js';
import type { ChatRequest } from '../../openai/chat-request.js';
import type { Services } from '../../services.js';
import { loadImageRef, normaliseImageRef } from '../../tasks/image-input.js';
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

/** The last user message's text and image URLs (image_url parts). */
function lastUser(body: ChatRequest): { text: string; images: string[] } {
  const msg = [...body.messages].reverse().find((m) => m.role === 'user');
  if (!msg) return { text: '', images: [] };
  if (typeof msg.content === 'string') return { text: msg.content, images: [] };
  const text: string[] = [];
  const images: string[] = [];
  for (const p of (msg.content ?? []) as Record<string, any>[]) {
    if (p.type === 'text' && typeof p.text === 'string') text.push(p.text);
    else if (p.type === 'image_url') {
      const u = typeof p.image_url === 'string' ? p.image_url : p.image_url?.url;
      if (typeof u === 'string') images.push(u);
    }
  }
  return { text: text.join('\n'), images };
}

type Emit = (delta: { reasoning?: string; content?: string }) => void;

/**
 * Image and video models in /v1/chat/completions (API.md §4.2, §4.7): the last user message is
 * the prompt; video progress is streamed as reasoning, the result is content formatted per
 * `app.image_format` / `app.video_format`.
 */
export async function runMediaChat(services: Services, req: FastifyRequest, reply: FastifyReply, body: ChatRequest, model: ModelSpec): Promise<unknown> {
  const config = services.config();
  const raw = req.body as Record<string, unknown>;
  const { text, images } = lastUser(body);
  if (!text.trim()) throw new AppError(400, 'invalid_request_error', 'empty_prompt', 'The last user message must contain the text describing what to generate.', 'messages');
  const signal = clientAbortSignal(reply);
  const imageRefs = await Promise.all(images.map((u) => normaliseImageRef(services.media.cache, u)));
  const markdownImage = async (bytes: Buffer, i: number) =>
    config.app.image_format === 'b64_json' || config.app.image_format === 'base64'
      ? `![image${i + 1}](data:image/png;base64,${bytes.toString('base64')})`
      : `![image${i + 1}](${fileUrl(req, config, 'image', await services.media.cache.put('image', bytes))})`;

  const produce = async (emit: Emit): Promise<void> => {
    if (model.kind === 'video') {
      const vc = parseBody(videoConfigSchema, (raw.video_config ?? {}) as object);
      const image = imageRefs[0] ? await loadImageRef(services.media.cache, imageRefs[0], signal, fetchPolicy(config.security)) : null;
      let last = 0;
      const acquired = await services.pool.acquire(model, signal, async (lease) => {
        const video = services.providers.video(lease.provider ?? 'grok');
        if (!video) throw mediaErrors.unsupported(`video generation on provider '${lease.provider ?? 'grok'}'`);
        const bytes = await video.generate(lease, { prompt: text, aspectRatio: vc.aspect_ratio, duration: vc.video_length ?? 6, resolution: vc.resolution_name, preset: vc.preset }, image, signal, (p) => {
          if (p > last) emit({ reasoning: `Video generation ${p}%\n` });
          last = p;
        });
        return services.media.cache.put('video', bytes);
      });
      await acquired.release({ kind: 'success' });
      const url = fileUrl(req, config, 'video', acquired.value);
      const f = config.app.video_format;
      emit({ content: f === 'html' ? `<video controls="" preload="none" src="${url}"></video>` : f === 'markdown' ? `[video](${url})` : url });
      return;
    }
    const ic = parseBody(imageConfigSchema, (raw.image_config ?? {}) as object);
    const aspectRatio = aspectForSize(ic.size);
    if (!aspectRatio) throw errors.invalidValue('image_config.size', `Invalid size '${ic.size}'.`);
    if (model.kind === 'image_edit' && !imageRefs.length) throw errors.missing('messages[].content[].image_url');
    const batch =
      model.kind === 'image_edit' || imageRefs.length
        ? await editImages(services, model, { prompt: text, inputs: await Promise.all(imageRefs.map((r) => loadImageRef(services.media.cache, r, signal, fetchPolicy(config.security)))), n: ic.n }, signal)
        : await generateImages(services, model, { prompt: text, aspectRatio, n: ic.n }, signal, undefined, undefined);
    emit({ content: (await Promise.all(batch.images.map(markdownImage))).join('\n') });
  };

  const id = randomId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const thinkTags = config.app.reasoning_format === 'think_tags';
  if (!body.stream) {
    let reasoning = '';
    let content = '';
    await produce((d) => {
      reasoning += d.reasoning ?? '';
      content += d.content ?? '';
    });
    const message: Record<string, unknown> = { role: 'assistant', content: thinkTags && reasoning ? `<think>\n${reasoning}</think>\n${content}` : content, refusal: null };
    if (reasoning && !thinkTags) message.reasoning_content = reasoning;
    return { id, object: 'chat.completion', created, model: model.id, choices: [{ index: 0, message, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 } };
  }
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    sseData({ id, object: 'chat.completion.chunk', created, model: model.id, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const ch = new Channel<string>();
  ch.push(chunk({ role: 'assistant', content: '' }));
  let thinking = false;
  produce((d) => {
    if (d.reasoning) {
      if (thinkTags) ch.push(chunk({ content: (thinking ? '' : '<think>\n') + d.reasoning }));
      else ch.push(chunk({ reasoning_content: d.reasoning }));
      thinking = true;
    }
    if (d.content) {
      if (thinkTags && thinking) ch.push(chunk({ content: '</think>\n' }));
      thinking = false;
      ch.push(chunk({ content: d.content }));
    }
  }).then(
    () => {
      ch.push(chunk({}, 'stop'));
      ch.push('data: [DONE]\n\n');
      ch.end();
    },
    (err) => {
      const e = toAppError(err);
      if (e.status !== 499) ch.push(sseData(e.toBody()));
      ch.push('data: [DONE]\n\n');
      ch.end();
    },
  );
  return sendSse(reply, ch, config.performance.sse_keepalive_sec * 1000);
}
