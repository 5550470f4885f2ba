import type { Logger } from 'pino';
import { catalogue } from '../config/catalogue.js';
import type { Config } from '../config/schema.js';
import { AppError, errors } from '../errors.js';
import { fetchPolicy } from '../lib/guarded-fetch.js';
import { randomId } from '../lib/ids.js';
import type { MediaCache } from '../media/cache.js';
import type { AccountPool } from '../pool/pool.js';
import type { TaskStatus, TaskStore, VideoTask, VideoTaskParams } from '../store/tasks.js';
import { mediaErrors } from '../upstream/media-errors.js';
import type { ProviderRegistry } from '../upstream/registry.js';
import { loadImageRef, normaliseImageRef } from './image-input.js';

export interface VideoTaskDeps {
  store: TaskStore;
  pool: AccountPool;
  cache: MediaCache;
  config: () => Config;
  /** The upstreams; the leased credential's provider makes the video. */
  providers: ProviderRegistry;
  log: Logger;
  /**
   * True when other instances share the task store (Redis): then only tasks whose owner stopped
   * heart-beating are orphans. A local store is this process's alone, so at start every
   * unfinished task is an orphan.
   */
  shared?: boolean;
}

const SWEEP_MS = 60_000;
/** A shared-store task whose owner has not written it for this long is taken as orphaned. */
const STALE_MS = 3 * SWEEP_MS;

/**
 * Runs video tasks (docs/api-contract.md §6.3): at most `video.max_concurrent` generations at once on this
 * instance, the rest wait as `pending` in arrival order. Progress goes to the store as it
 * arrives; a cancel (from any instance: it is a store transition) aborts the upstream request.
 * On start, tasks a crashed process left pending/running are failed; finished tasks expire
 * after `video.task_ttl_hours`.
 */
export class VideoTaskService {
  /** This process; tasks it owns are not orphans. */
  readonly owner = randomId('inst_', 8);
  private readonly queue: string[] = [];
  private readonly running = new Map<string, AbortController>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly d: VideoTaskDeps) {}

  async start(): Promise<void> {
    await this.recover(this.d.shared ? Date.now() - STALE_MS : Date.now() + 1);
    await this.sweep();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  private async recover(staleBefore: number): Promise<void> {
    const orphans = await this.d.store.recoverOrphans(this.owner, staleBefore, 'The server stopped while this task was pending or running; create the task again.');
    if (orphans.length) this.d.log.warn({ tasks: orphans.length }, 'video tasks of a stopped process marked failed');
  }

  /** Expiry; with a shared store also the heartbeat of this instance's tasks and orphan recovery. */
  private async sweep(): Promise<void> {
    const ttlMs = this.d.config().video.task_ttl_hours * 3_600_000;
    try {
      if (this.d.shared) {
        for (const id of [...this.running.keys(), ...this.queue]) await this.d.store.transition(id, ['pending', 'running'], {});
        await this.recover(Date.now() - STALE_MS);
      }
      await this.d.store.expire(Date.now() - ttlMs);
    } catch (err) {
      this.d.log.error({ err }, 'video task sweep failed');
    }
  }

  /** Validates, stores (durably) as pending, and queues the task. */
  async create(params: VideoTaskParams): Promise<VideoTask> {
    const model = catalogue(this.d.config()).get(params.model);
    if (!model) throw errors.modelNotFound(params.model);
    if (model.kind !== 'video') throw errors.invalidValue('model', `The model \`${params.model}\` is not a video model; use a model of kind "video" such as grok-imagine-1.0-video.`);
    // Refused now, not as a failed task later: grok.com's current generation has no image to video.
    if (params.imageUrl && this.d.config().video.generation !== 'legacy') throw mediaErrors.imageToVideoUnavailable();
    const imageUrl = params.imageUrl ? await normaliseImageRef(this.d.cache, params.imageUrl) : null;
    const now = Date.now();
    const task: VideoTask = {
      id: randomId('task_', 12),
      status: 'pending',
      progress: 0,
      params: { ...params, imageUrl },
      message: 'Queued.',
      videoId: null,
      owner: this.owner,
      createdAt: now,
      startedAt: null,
      completedAt: null,
      updatedAt: now,
    };
    await this.d.store.create(task);
    this.queue.push(task.id);
    this.pump();
    return task;
  }

  /** Cancels a pending or running task; false when it is missing or already finished. */
  async cancel(id: string): Promise<boolean> {
    const t = await this.d.store.transition(id, ['pending', 'running'], { status: 'cancelled', completedAt: Date.now(), message: 'Cancelled.' });
    if (!t) return false;
    this.running.get(id)?.abort(new Error('cancelled'));
    return true;
  }

  /** Deletes tasks (cancelling unfinished ones first); returns how many existed. */
  async delete(ids: readonly string[]): Promise<number> {
    for (const id of ids) await this.cancel(id);
    return this.d.store.delete(ids);
  }

  async deleteByStatus(status?: TaskStatus): Promise<number> {
    const tasks = await this.d.store.list(status);
    return this.delete(tasks.map((t) => t.id));
  }

  private pump(): void {
    const max = this.d.config().video.max_concurrent;
    while (!this.closed && this.running.size < max && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const controller = new AbortController();
      this.running.set(id, controller);
      void this.run(id, controller).finally(() => {
        this.running.delete(id);
        this.pump();
      });
    }
  }

  private async run(id: string, controller: AbortController): Promise<void> {
    const { store, config: cfg, log } = this.d;
    const task = await store.transition(id, ['pending'], { status: 'running', startedAt: Date.now(), message: 'Generating.', owner: this.owner });
    if (!task) return; // cancelled or deleted while queued
    // A cancel issued on another instance reaches us as a store change.
    const unsubscribe = store.subscribe(id, (t) => {
      if (t.status === 'cancelled') controller.abort(new Error('cancelled'));
    });
    const config = cfg();
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(config.video.generation_timeout_sec * 1000)]);
    try {
      const model = catalogue(config).get(task.params.model);
      if (!model) throw errors.modelNotFound(task.params.model);
      const p = task.params;
      const image = p.imageUrl ? await loadImageRef(this.d.cache, p.imageUrl, signal, fetchPolicy(config.security)) : null;
      const acquired = await this.d.pool.acquire(model, signal, async (lease) => {
        const video = this.d.providers.video(lease.provider ?? 'grok');
        if (!video) throw mediaErrors.unsupported(`video generation on provider '${lease.provider ?? 'grok'}'`);
        const bytes = await video.generate(lease, { prompt: p.prompt, aspectRatio: p.aspectRatio, duration: p.videoLength, resolution: p.resolution, preset: p.preset }, image, signal, (progress) => {
          // 100 is reserved for "downloaded and stored".
          void store.progress(id, Math.min(99, progress), `Generating: ${progress}%.`);
        });
        return this.d.cache.put('video', bytes);
      });
      await acquired.release({ kind: 'success' });
      await store.transition(id, ['running'], { status: 'completed', progress: 100, videoId: acquired.value, completedAt: Date.now(), message: 'Video generated.' });
    } catch (err) {
      if (controller.signal.aborted) return; // cancelled: the store already says so
      const message = signal.aborted
        ? `The generation took longer than ${config.video.generation_timeout_sec} s (video.generation_timeout_sec).`
        : err instanceof AppError
          ? err.message
          : 'The video generation failed unexpectedly.';
      if (!(err instanceof AppError)) log.error({ err, task: id }, 'video task failed');
      await store.transition(id, ['running'], { status: 'failed', completedAt: Date.now(), message }).catch(() => null);
    } finally {
      unsubscribe();
    }
  }

  /** Stops sweeping; running generations are aborted and their tasks failed (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const ids = [...this.running.keys(), ...this.queue];
    for (const [, c] of this.running) c.abort(new Error('shutdown'));
    for (const id of ids) {
      await this.d.store.transition(id, ['pending', 'running'], { status: 'failed', completedAt: Date.now(), message: 'The server shut down before the task finished; create it again.' }).catch(() => null);
    }
  }
}
