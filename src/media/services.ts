import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { AccountPool } from '../pool/pool.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import { LocalTaskStore } from '../store/local/local-task-store.js';
import type { TaskStore } from '../store/tasks.js';
import { VideoTaskService } from '../tasks/video-tasks.js';
import { MediaCache } from './cache.js';

/** What the image, video and file routes need besides the chat services. */
export interface MediaServices {
  cache: MediaCache;
  videos: VideoTaskService;
  close(): Promise<void>;
}

/**
 * Opens the media cache and the task runner on `tasks` (the local task store when none is given,
 * i.e. until the Redis store provides a shared one), recovering orphaned tasks.
 */
export async function createMediaServices(opts: {
  config: () => Config;
  pool: AccountPool;
  providers: ProviderRegistry;
  log: Logger;
  tasks?: TaskStore;
}): Promise<{ media: MediaServices; tasks: TaskStore }> {
  const { config, log } = opts;
  const cache = MediaCache.forConfig(config, log);
  await cache.init();
  let tasks = opts.tasks;
  if (!tasks) {
    const local = new LocalTaskStore(config().server.data_dir);
    await local.init();
    tasks = local;
  }
  // A task store passed in is the shared (Redis) one; the local one belongs to this process.
  const videos = new VideoTaskService({ store: tasks, pool: opts.pool, cache, config, providers: opts.providers, log, shared: Boolean(opts.tasks) });
  await videos.start();
  const store = tasks;
  return {
    tasks,
    media: {
      cache,
      videos,
      async close() {
        await videos.close();
        await store.close();
      },
    },
  };
}
