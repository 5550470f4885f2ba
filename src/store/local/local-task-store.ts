import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readOwnedFile, writeFileAtomic } from '../../lib/atomic-write.js';
import { FINISHED, type TaskListener, type TaskPatch, type TaskStatus, type TaskStore, type VideoTask } from '../tasks.js';
import { StateWriter } from './state-writer.js';

/**
 * Video tasks of one process in `DATA_DIR/tasks.json`. Every status change is written atomically
 * (temp + fsync + rename) before the call resolves; progress updates are coalesced (at most one
 * write per `progressDelayMs`), since a lost progress value after a crash is harmless.
 */
export class LocalTaskStore implements TaskStore {
  private readonly tasks = new Map<string, VideoTask>();
  private readonly events = new EventEmitter();
  private readonly file: string;
  private readonly writer: StateWriter;

  constructor(private readonly dataDir: string, progressDelayMs = 500) {
    this.file = join(dataDir, 'tasks.json');
    this.writer = new StateWriter(() => this.persist(), { delayMs: progressDelayMs });
    this.events.setMaxListeners(0);
  }

  async init(): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    const text = await readOwnedFile(this.file);
    if (text === null) return;
    const parsed = JSON.parse(text) as { version: number; tasks: VideoTask[] };
    for (const t of parsed.tasks ?? []) this.tasks.set(t.id, t);
  }

  private persist(): Promise<void> {
    // Snapshot synchronously (StateWriter contract), then write.
    const text = JSON.stringify({ version: 1, tasks: [...this.tasks.values()] });
    return writeFileAtomic(this.file, text);
  }

  private emit(task: VideoTask): void {
    this.events.emit(task.id, { ...task, params: { ...task.params } });
  }

  async create(task: VideoTask): Promise<void> {
    this.tasks.set(task.id, { ...task });
    await this.writer.flush();
    this.emit(task);
  }

  async get(id: string): Promise<VideoTask | null> {
    const t = this.tasks.get(id);
    return t ? { ...t } : null;
  }

  async list(status?: TaskStatus): Promise<VideoTask[]> {
    const all = [...this.tasks.values()].filter((t) => !status || t.status === status);
    return all.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).map((t) => ({ ...t }));
  }

  async transition(id: string, from: readonly TaskStatus[], patch: TaskPatch): Promise<VideoTask | null> {
    const t = this.tasks.get(id);
    if (!t || !from.includes(t.status)) return null;
    Object.assign(t, patch, { updatedAt: Date.now() });
    const copy = { ...t };
    await this.writer.flush();
    this.emit(copy);
    return copy;
  }

  async progress(id: string, progress: number, message?: string): Promise<void> {
    const t = this.tasks.get(id);
    if (!t || t.status !== 'running' || progress <= t.progress) return;
    t.progress = Math.min(100, Math.round(progress));
    if (message !== undefined) t.message = message;
    t.updatedAt = Date.now();
    this.writer.markDirty();
    this.emit(t);
  }

  async delete(ids: readonly string[]): Promise<number> {
    let n = 0;
    for (const id of ids) if (this.tasks.delete(id)) n++;
    if (n) await this.writer.flush();
    return n;
  }

  async expire(before: number): Promise<VideoTask[]> {
    const gone = [...this.tasks.values()].filter((t) => FINISHED.includes(t.status) && (t.completedAt ?? t.updatedAt) < before);
    if (gone.length) await this.delete(gone.map((t) => t.id));
    return gone;
  }

  async recoverOrphans(liveOwner: string, staleBefore: number, message: string): Promise<VideoTask[]> {
    const now = Date.now();
    const orphans = [...this.tasks.values()].filter((t) => (t.status === 'pending' || t.status === 'running') && t.owner !== liveOwner && t.updatedAt < staleBefore);
    for (const t of orphans) Object.assign(t, { status: 'failed' as const, message, completedAt: now, updatedAt: now });
    if (orphans.length) await this.writer.flush();
    for (const t of orphans) this.emit(t);
    return orphans.map((t) => ({ ...t }));
  }

  subscribe(id: string, fn: TaskListener): () => void {
    this.events.on(id, fn);
    return () => this.events.off(id, fn);
  }

  async close(): Promise<void> {
    await this.writer.drain();
  }
}
