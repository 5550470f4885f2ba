import type { FastifyInstance, HTTPMethods } from 'fastify';
import { z } from 'zod';
import { AppError, errors } from '../../errors.js';
import { publicBase } from '../../http/public-url.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';
import { TASK_STATUSES, type TaskStatus } from '../../store/tasks.js';
import { taskJson } from '../../translators/video-tasks.js';

const deleteSchema = z.object({ task_ids: z.array(z.string().min(1)).min(1).max(10_000) });

/**
 * Thin admin views of the video tasks and the media cache (docs/api-contract.md §8.4) for the console: the
 * same services the /v1 routes use, behind the admin guard instead of a client key. Each route is
 * added only if no other module registered it already, so the media routes may take them over.
 */
export function registerMediaAdminRoutes(app: FastifyInstance, services: Services): void {
  const add = (method: HTTPMethods, url: string, handler: Parameters<FastifyInstance['route']>[0]['handler']) => {
    if (!app.hasRoute({ method, url })) app.route({ method, url, handler });
  };

  add('GET', '/admin/api/video/tasks', async (req) => {
    const raw = (req.query as { status?: string }).status;
    if (raw && !(TASK_STATUSES as readonly string[]).includes(raw)) {
      throw errors.invalidValue('status', `Unknown status '${raw}'; use one of ${TASK_STATUSES.join(', ')}.`);
    }
    const base = publicBase(req, services.config());
    return { tasks: (await services.tasks.list(raw as TaskStatus | undefined)).map((t) => taskJson(t, base)) };
  });

  // Cancel one pending or running task (the upstream generation stops).
  add('DELETE', '/admin/api/video/tasks/:id', async (req) => {
    const { id } = req.params as { id: string };
    const task = await services.tasks.get(id);
    if (!task) throw new AppError(404, 'invalid_request_error', 'task_not_found', `No video task with id '${id}'.`, 'task_id');
    const cancelled = await services.media.videos.cancel(id);
    return { task_id: id, cancelled, status: cancelled ? 'cancelled' : task.status };
  });

  add('DELETE', '/admin/api/video/tasks', async (req) => {
    const { task_ids } = parseBody(deleteSchema, req.body);
    return { deleted: await services.media.videos.delete(task_ids) };
  });

  add('GET', '/admin/api/cache', async () => services.media.cache.usage());

  // Clears the whole cache, or one kind with ?type=image|video.
  add('DELETE', '/admin/api/cache', async (req) => {
    const type = (req.query as { type?: string }).type;
    if (type !== undefined && type !== 'image' && type !== 'video') throw errors.invalidValue('type', "'type' must be 'image' or 'video' (or absent for both).");
    return { removed: await services.media.cache.clear(type) };
  });
}
