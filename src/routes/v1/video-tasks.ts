import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { readMultipart } from '../../http/multipart.js';
import { fileUrl, publicBase } from '../../http/public-url.js';
import { sendSse, sseData } from '../../http/sse.js';
import { parseBody } from '../../http/validate.js';
import { sniffMedia } from '../../media/sniff.js';
import type { Services } from '../../services.js';
import { FINISHED, TASK_STATUSES, type TaskStatus, type VideoTask } from '../../store/tasks.js';
import { taskJson } from '../../translators/video-tasks.js';

export const ASPECT_RATIOS = ['2:3', '3:2', '1:1', '9:16', '16:9'] as const;

const createSchema = z.object({
  model: z.string().min(1).default('grok-imagine-1.0-video'),
  prompt: z.string(),
  aspect_ratio: z.enum(ASPECT_RATIOS).default('3:2'),
  video_length: z.coerce.number().refine((v) => v === 6 || v === 10, 'must be 6 or 10').default(6),
  resolution: z.enum(['480p', '720p']).default('480p'),
  preset: z.enum(['fun', 'normal', 'spicy', 'custom']).default('normal'),
  image_url: z.string().min(1).nullish(),
});

export const taskNotFound = (id: string) =>
  new AppError(404, 'invalid_request_error', 'task_not_found', `No video task with id '${id}'. Finished tasks expire after video.task_ttl_hours.`, 'task_id');

export const emptyPrompt = () => new AppError(400, 'invalid_request_error', 'empty_prompt', "'prompt' must not be empty: describe what to generate.", 'prompt');

function parseStatus(s: string): TaskStatus {
  if (!(TASK_STATUSES as readonly string[]).includes(s)) {
    throw new AppError(400, 'invalid_request_error', 'invalid_value', `Unknown status '${s}'; use one of ${TASK_STATUSES.join(', ')}.`, 'status');
  }
  return s as TaskStatus;
}

const terminalType = (t: VideoTask) => t.status as 'completed' | 'failed' | 'cancelled';

/** The /v1/video/tasks family and /v1/video/upload (docs/api-contract.md §6.1). */
export function registerVideoTaskRoutes(app: FastifyInstance, services: Services): void {
  const { videos, cache } = services.media;
  const tasks = () => services.tasks;

  app.post('/video/tasks', async (req) => {
    const body = parseBody(createSchema, req.body);
    if (!body.prompt.trim()) throw emptyPrompt();
    const task = await videos.create({
      model: body.model,
      prompt: body.prompt,
      aspectRatio: body.aspect_ratio,
      videoLength: body.video_length,
      resolution: body.resolution,
      preset: body.preset,
      imageUrl: body.image_url ?? null,
    });
    return { status: 'success', task_id: task.id, message: 'Video generation task submitted.' };
  });

  app.get<{ Querystring: { status?: string } }>('/video/tasks', async (req) => {
    const status = req.query.status ? parseStatus(req.query.status) : undefined;
    const base = publicBase(req, services.config());
    return { tasks: (await tasks().list(status)).map((t) => taskJson(t, base)) };
  });

  app.get<{ Params: { id: string } }>('/video/tasks/:id', async (req) => {
    const t = await tasks().get(req.params.id);
    if (!t) throw taskNotFound(req.params.id);
    return taskJson(t, publicBase(req, services.config()));
  });

  app.get<{ Params: { id: string } }>('/video/tasks/:id/stream', async (req, reply) => {
    const id = req.params.id;
    if (!(await tasks().get(id))) throw taskNotFound(id);
    const base = publicBase(req, services.config());
    return sendSse(reply, follow(services, id, base), services.config().performance.sse_keepalive_sec * 1000);
  });

  app.delete<{ Params: { id: string } }>('/video/tasks/:id', async (req) => {
    const t = await tasks().get(req.params.id);
    if (!t) throw taskNotFound(req.params.id);
    if (FINISHED.includes(t.status)) {
      throw new AppError(409, 'invalid_request_error', 'task_finished', `The task is already ${t.status}; delete it with DELETE /v1/video/tasks {"task_ids": [...]}.`, 'task_id');
    }
    await videos.cancel(t.id);
    return { status: 'success', message: 'Task cancelled.' };
  });

  app.delete('/video/tasks', async (req) => {
    const body = parseBody(z.object({ task_ids: z.array(z.string()).min(1).max(1000) }), req.body);
    const count = await videos.delete(body.task_ids);
    return { status: 'success', count, message: `Deleted ${count} task(s).` };
  });

  app.delete<{ Params: { status: string } }>('/video/tasks/status/:status', async (req) => {
    const status = parseStatus(req.params.status);
    const count = await videos.deleteByStatus(status);
    return { status: 'success', count, message: `Deleted ${count} ${status} task(s).` };
  });

  app.delete('/video/tasks/all', async () => {
    const count = await videos.deleteByStatus();
    return { status: 'success', count, message: `Deleted all ${count} task(s).` };
  });

  app.post('/video/upload', async (req) => {
    const { files } = await readMultipart(req);
    const file = files.find((f) => f.field === 'file') ?? files[0];
    if (!file) throw new AppError(400, 'invalid_request_error', 'missing_required_parameter', "Missing required file part 'file'.", 'file');
    const type = sniffMedia(file.data);
    if (!type || !['image/png', 'image/jpeg', 'image/webp'].includes(type.mime)) {
      throw new AppError(415, 'invalid_request_error', 'unsupported_media_type', `'${file.filename}' is not a PNG, JPEG or WebP image (checked by content, not by name).`, 'file');
    }
    const id = await cache.put('image', file.data);
    return { file_id: id, file_uri: `files/image/${id}`, image_url: fileUrl(req, services.config(), 'image', id) };
  });
}

/**
 * SSE for one task: a snapshot, then `progress` on every rise, then one terminal event, then the
 * end. Follows store notifications (any instance writes through the store) with a slow poll as
 * a safety net for a missed notification.
 */
async function* follow(services: Services, id: string, base: string): AsyncGenerator<string> {
  const store = services.tasks;
  const changes: VideoTask[] = [];
  let wake: (() => void) | null = null;
  const unsubscribe = store.subscribe(id, (t) => {
    changes.push(t);
    wake?.();
  });
  try {
    let task = await store.get(id);
    if (!task) return;
    yield sseData({ type: 'snapshot', ...taskJson(task, base) });
    let last = task.progress;
    for (;;) {
      if (FINISHED.includes(task.status)) {
        yield sseData({ type: terminalType(task), ...taskJson(task, base) });
        return;
      }
      if (!changes.length) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 2000).unref();
        });
        wake = null;
      }
      const next = changes.length ? changes.shift()! : await store.get(id);
      if (!next) {
        yield sseData({ type: 'failed', task_id: id, status: 'failed', message: 'The task was deleted.' });
        return;
      }
      task = next;
      if (!FINISHED.includes(task.status) && task.progress > last) {
        last = task.progress;
        yield sseData({ type: 'progress', task_id: id, status: task.status, progress: task.progress });
      }
    }
  } finally {
    unsubscribe();
  }
}
