/**
 * Asynchronous video tasks (docs/api-contract.md §6.3), kept in the store so any instance can answer for any
 * task. Implementations: local (src/store/local/local-task-store.ts, one process) and, with the
 * Redis store, a shared one behind this same interface.
 *
 * Status machine: pending → running → completed | failed | cancelled (pending may also go straight
 * to failed or cancelled). `transition` is a compare-and-set on the status, so two instances
 * (or a cancel racing a completion) can never both win.
 */

export type TaskStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';
export const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
export const FINISHED: readonly TaskStatus[] = ['completed', 'failed', 'cancelled'];

export interface VideoTaskParams {
  model: string;
  prompt: string;
  aspectRatio: string;
  /** Seconds. */
  videoLength: number;
  resolution: '480p' | '720p';
  preset: string;
  /** Reference image for image-to-video (URL, data URI, or an uploaded asset URL). */
  imageUrl: string | null;
}

export interface VideoTask {
  id: string;
  status: TaskStatus;
  /** 0–100. */
  progress: number;
  params: VideoTaskParams;
  /** Human-readable state ("queued", "generating", the failure reason…). */
  message: string;
  /** Media-cache id of the finished video (served at /v1/files/video/{id}). */
  videoId: string | null;
  /** Instance that runs (or will run) it; used to recover tasks of dead instances. */
  owner: string;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** Last write; a running task's heartbeat. */
  updatedAt: number;
}

export type TaskPatch = Partial<Pick<VideoTask, 'status' | 'progress' | 'message' | 'videoId' | 'startedAt' | 'completedAt' | 'owner'>>;

export type TaskListener = (task: VideoTask) => void;

export interface TaskStore {
  /** Durable before it resolves. */
  create(task: VideoTask): Promise<void>;
  get(id: string): Promise<VideoTask | null>;
  /** Newest first, optionally one status only. */
  list(status?: TaskStatus): Promise<VideoTask[]>;
  /**
   * Applies `patch` only if the task's status is one of `from`; returns the new task, or null when
   * the task is missing or in another status. A status change is durable before it resolves.
   */
  transition(id: string, from: readonly TaskStatus[], patch: TaskPatch): Promise<VideoTask | null>;
  /** Raises progress of a running task (never lowers it). May be coalesced before reaching disk. */
  progress(id: string, progress: number, message?: string): Promise<void>;
  /** Deletes tasks by id; returns how many existed. */
  delete(ids: readonly string[]): Promise<number>;
  /** Deletes finished tasks last updated before `before` (epoch ms); returns them. */
  expire(before: number): Promise<VideoTask[]>;
  /**
   * Fails every pending/running task not owned by `liveOwner` whose heartbeat is older than
   * `staleBefore` (a crashed instance's work); returns them.
   */
  recoverOrphans(liveOwner: string, staleBefore: number, message: string): Promise<VideoTask[]>;
  /** Calls `fn` with every change of task `id` (from any instance); returns the unsubscribe. */
  subscribe(id: string, fn: TaskListener): () => void;
  /** Flushes coalesced writes. */
  close(): Promise<void>;
}
