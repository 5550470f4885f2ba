import type { Config } from '../config/schema.js';
import type { VideoTask } from '../store/tasks.js';

/** The task JSON of docs/api-contract.md §6.2. Times ISO 8601; `video_url` is this server's own file URL. */
export function taskJson(task: VideoTask, base: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    task_id: task.id,
    status: task.status,
    progress: task.progress,
    prompt: task.params.prompt,
    model: task.params.model,
    created_at: new Date(task.createdAt).toISOString(),
    message: task.message,
  };
  if (task.videoId) out.video_url = `${base}/v1/files/video/${task.videoId}`;
  if (task.startedAt) out.started_at = new Date(task.startedAt).toISOString();
  if (task.completedAt) out.completed_at = new Date(task.completedAt).toISOString();
  return out;
}

/** Aspect ratio → the OpenAI size string shown for it (the five ratios grok.com supports). */
const SIZE_BY_RATIO: Record<string, string> = { '16:9': '1280x720', '9:16': '720x1280', '3:2': '1792x1024', '2:3': '1024x1792', '1:1': '1024x1024' };
export const RATIO_BY_VIDEO_SIZE: Record<string, string> = Object.fromEntries(Object.entries(SIZE_BY_RATIO).map(([r, s]) => [s, r]));

const VIDEO_STATUS = { pending: 'queued', running: 'in_progress', completed: 'completed', failed: 'failed', cancelled: 'failed' } as const;

/** The OpenAI `VideoResource` view of a task (a video id is the task id). */
export function videoResource(task: VideoTask, config: Config): Record<string, unknown> {
  const done = task.completedAt ? Math.floor(task.completedAt / 1000) : null;
  const failed = task.status === 'failed' || task.status === 'cancelled';
  return {
    id: task.id,
    object: 'video',
    model: task.params.model,
    status: VIDEO_STATUS[task.status],
    progress: task.progress,
    created_at: Math.floor(task.createdAt / 1000),
    completed_at: done,
    expires_at: done === null ? null : done + Math.round(config.video.task_ttl_hours * 3600),
    prompt: task.params.prompt,
    size: SIZE_BY_RATIO[task.params.aspectRatio] ?? '1792x1024',
    seconds: String(task.params.videoLength),
    remixed_from_video_id: null,
    error: failed ? { code: task.status === 'cancelled' ? 'cancelled' : 'video_generation_failed', message: task.message } : null,
  };
}
