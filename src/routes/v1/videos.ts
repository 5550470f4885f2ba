import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { resolveModel } from '../../config/catalogue.js';
import { AppError, errors } from '../../errors.js';
import { forClientKey } from '../../http/auth.js';
import { readMultipart } from '../../http/multipart.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';
import { RATIO_BY_VIDEO_SIZE, videoResource } from '../../translators/video-tasks.js';
import { ASPECT_RATIOS, emptyPrompt } from './video-tasks.js';

const bodySchema = z.object({
  prompt: z.string(),
  model: z.string().min(1).default('grok-imagine-1.0-video'),
  seconds: z.coerce.string().default('6'),
  size: z.string().default('1792x1024'),
  resolution: z.enum(['480p', '720p']).default('480p'),
  preset: z.enum(['fun', 'normal', 'spicy', 'custom']).default('custom'),
  input_reference: z.union([z.string(), z.object({ image_url: z.string().optional(), file_id: z.string().optional() })]).nullish(),
});

const videoNotFound = (id: string) => new AppError(404, 'invalid_request_error', 'not_found', `No video with id '${id}'.`, 'video_id');

/** OpenAI seconds → grok.com lengths (6 or 10 s). */
function toLength(seconds: string): number {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) throw new AppError(400, 'invalid_request_error', 'invalid_value', `Invalid seconds '${seconds}'; grok.com makes 6 or 10 second videos.`, 'seconds');
  return n <= 6 ? 6 : 10;
}

function toRatio(size: string): string {
  const r = RATIO_BY_VIDEO_SIZE[size] ?? ((ASPECT_RATIOS as readonly string[]).includes(size) ? size : undefined);
  if (!r) throw new AppError(400, 'invalid_request_error', 'invalid_value', `Unsupported size '${size}'; use 1280x720, 720x1280, 1792x1024, 1024x1792 or 1024x1024.`, 'size');
  return r;
}

/**
 * The OpenAI Videos API on the video tasks (docs/api-contract.md §6.5): a video id is a task id, so
 * `client.videos.*` and /v1/video/tasks see the same jobs. Bodies as JSON or multipart.
 */
export function registerVideoRoutes(app: FastifyInstance, services: Services): void {
  const { videos, cache } = services.media;

  app.post('/videos', async (req) => {
    let raw: Record<string, unknown>;
    let imageUrl: string | null = null;
    if (req.isMultipart()) {
      const mp = await readMultipart(req);
      raw = { ...mp.fields };
      const file = mp.files.find((f) => f.field === 'input_reference');
      if (file) imageUrl = `data:application/octet-stream;base64,${file.data.toString('base64')}`;
    } else {
      raw = (req.body ?? {}) as Record<string, unknown>;
    }
    const body = parseBody(bodySchema, raw);
    if (!body.prompt.trim()) throw emptyPrompt();
    // Tasks run after the answer, so a key's provider limit is checked here, not at the lease.
    const spec = resolveModel(services.config(), body.model);
    if (spec && forClientKey(req, spec).providers!.length === 0) throw errors.providerNotAllowed(body.model);
    const ref = body.input_reference;
    if (!imageUrl && ref) imageUrl = typeof ref === 'string' ? ref : ref.image_url ?? (ref.file_id ? `/v1/files/image/${ref.file_id}` : null);
    const task = await videos.create({
      model: body.model,
      prompt: body.prompt,
      aspectRatio: toRatio(body.size),
      videoLength: toLength(body.seconds),
      resolution: body.resolution,
      preset: body.preset,
      imageUrl,
    });
    return videoResource(task, services.config());
  });

  app.get<{ Querystring: { limit?: string; after?: string; order?: string } }>('/videos', async (req) => {
    const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 20) || 20));
    let all = await services.tasks.list();
    if (req.query.order === 'asc') all = all.reverse();
    if (req.query.after) {
      const i = all.findIndex((t) => t.id === req.query.after);
      all = i >= 0 ? all.slice(i + 1) : [];
    }
    const page = all.slice(0, limit);
    const data = page.map((t) => videoResource(t, services.config()));
    return { object: 'list', data, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: all.length > limit };
  });

  app.get<{ Params: { id: string } }>('/videos/:id', async (req) => {
    const t = await services.tasks.get(req.params.id);
    if (!t) throw videoNotFound(req.params.id);
    return videoResource(t, services.config());
  });

  app.get<{ Params: { id: string }; Querystring: { variant?: string } }>('/videos/:id/content', async (req, reply) => {
    const t = await services.tasks.get(req.params.id);
    if (!t) throw videoNotFound(req.params.id);
    if (req.query.variant && req.query.variant !== 'video') {
      throw new AppError(400, 'invalid_request_error', 'invalid_value', `Variant '${req.query.variant}' is not available; only 'video' is.`, 'variant');
    }
    if (t.status !== 'completed' || !t.videoId) throw new AppError(409, 'invalid_request_error', 'video_not_ready', `The video is ${t.status}; its content is available once it is completed.`, 'video_id');
    const path = cache.path('video', t.videoId);
    if (!path) throw new AppError(404, 'invalid_request_error', 'not_found', 'The video file was evicted from the media cache; generate it again.', 'video_id');
    return reply.header('content-type', 'video/mp4').header('content-disposition', `attachment; filename="${t.id}.mp4"`).send(createReadStream(path));
  });

  app.delete<{ Params: { id: string } }>('/videos/:id', async (req) => {
    const n = await videos.delete([req.params.id]);
    if (!n) throw videoNotFound(req.params.id);
    return { object: 'video.deleted', deleted: true, id: req.params.id };
  });
}
