/**
 * Video tasks in SQL (contract in ../tasks.ts): one row per task holding it as JSON, with the
 * columns the sweeps filter on. Every change locks the task's row, bumps its revision and
 * announces it (./changes.ts), so `subscribe` callbacks run on every instance; listeners see
 * each revision once, in order, whether it was written here or elsewhere.
 * `transition` is a compare-and-set on the status inside that transaction.
 */
import { FINISHED, type TaskListener, type TaskPatch, type TaskStatus, type TaskStore, type VideoTask } from '../tasks.js';
import { marks, num, type SqlConn } from './db.js';
import type { SqlStore } from './sql-store.js';

export class SqlTaskStore implements TaskStore {
  private readonly listeners = new Map<string, Set<TaskListener>>();
  /** Newest revision passed to this task's listeners. */
  private readonly seen = new Map<string, number>();
  private readonly unwatch = new Map<string, () => void>();

  constructor(private readonly store: SqlStore) {}

  private get table(): string {
    return this.store.t.tasks;
  }

  async init(): Promise<void> {}

  /** Writes the task under revision `rev` and announces the change. */
  private async save(c: SqlConn, t: VideoTask, rev: number): Promise<void> {
    await c.query(`UPDATE ${this.table} SET status = ?, updated_at = ?, rev = ?, data = ? WHERE id = ?`, [t.status, t.updatedAt, rev, JSON.stringify(t), t.id]);
    await this.store.changes.announce(c, { t: 'task', id: t.id });
  }

  private emit(t: VideoTask, rev: number): void {
    const fns = this.listeners.get(t.id);
    if (!fns || rev <= (this.seen.get(t.id) ?? 0)) return;
    this.seen.set(t.id, rev);
    for (const fn of fns) fn({ ...t, params: { ...t.params } });
  }

  async create(task: VideoTask): Promise<void> {
    const { onConflict } = this.store.db.sql;
    await this.store.db.tx(async (c) => {
      await c.query(`INSERT INTO ${this.table} (id, created_at, status, updated_at, rev, data) VALUES (?, ?, ?, ?, 1, ?) ${onConflict(['id'], [])}`, [
        task.id,
        task.createdAt,
        task.status,
        task.updatedAt,
        JSON.stringify(task),
      ]);
      await this.store.changes.announce(c, { t: 'task', id: task.id });
    });
    this.emit(task, 1);
  }

  async get(id: string): Promise<VideoTask | null> {
    const row = (await this.store.db.query(`SELECT data FROM ${this.table} WHERE id = ?`, [id])).rows[0];
    return row ? (JSON.parse(String(row.data)) as VideoTask) : null;
  }

  async list(status?: TaskStatus): Promise<VideoTask[]> {
    const where = status ? 'WHERE status = ?' : '';
    const rows = (await this.store.db.query(`SELECT data FROM ${this.table} ${where} ORDER BY created_at DESC, id DESC`, status ? [status] : [])).rows;
    return rows.map((r) => JSON.parse(String(r.data)) as VideoTask);
  }

  /** Locks the task's row and applies `change`; null when it returns null (nothing written). */
  private async change(id: string, change: (t: VideoTask) => VideoTask | null): Promise<VideoTask | null> {
    const done = await this.store.db.tx(async (c) => {
      const row = (await c.query(`SELECT data, rev FROM ${this.table} WHERE id = ? FOR UPDATE`, [id])).rows[0];
      if (!row) return null;
      const next = change(JSON.parse(String(row.data)) as VideoTask);
      if (!next) return null;
      const rev = num(row.rev) + 1;
      await this.save(c, next, rev);
      return { task: next, rev };
    });
    if (!done) return null;
    this.emit(done.task, done.rev);
    return done.task;
  }

  transition(id: string, from: readonly TaskStatus[], patch: TaskPatch): Promise<VideoTask | null> {
    return this.change(id, (t) => (from.includes(t.status) ? { ...t, ...patch, updatedAt: Date.now() } : null));
  }

  async progress(id: string, progress: number, message?: string): Promise<void> {
    await this.change(id, (t) => {
      if (t.status !== 'running' || progress <= t.progress) return null;
      return { ...t, progress: Math.min(100, Math.round(progress)), ...(message === undefined ? {} : { message }), updatedAt: Date.now() };
    });
  }

  async delete(ids: readonly string[]): Promise<number> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return 0;
    return (await this.store.db.query(`DELETE FROM ${this.table} WHERE id IN (${marks(unique.length)})`, unique)).affected;
  }

  async expire(before: number): Promise<VideoTask[]> {
    return this.store.db.tx(async (c) => {
      const rows = (await c.query(`SELECT data FROM ${this.table} WHERE status IN (${marks(FINISHED.length)}) FOR UPDATE`, [...FINISHED])).rows;
      const gone = rows.map((r) => JSON.parse(String(r.data)) as VideoTask).filter((t) => (t.completedAt ?? t.updatedAt) < before);
      if (gone.length > 0) await c.query(`DELETE FROM ${this.table} WHERE id IN (${marks(gone.length)})`, gone.map((t) => t.id));
      return gone;
    });
  }

  async recoverOrphans(liveOwner: string, staleBefore: number, message: string): Promise<VideoTask[]> {
    const recovered = await this.store.db.tx(async (c) => {
      const rows = (await c.query(`SELECT data, rev FROM ${this.table} WHERE status IN ('pending', 'running') AND updated_at < ? FOR UPDATE`, [staleBefore])).rows;
      const now = Date.now();
      const out: { task: VideoTask; rev: number }[] = [];
      for (const r of rows) {
        const t = JSON.parse(String(r.data)) as VideoTask;
        if (t.owner === liveOwner) continue;
        const task: VideoTask = { ...t, status: 'failed', message, completedAt: now, updatedAt: now };
        const rev = num(r.rev) + 1;
        await this.save(c, task, rev);
        out.push({ task, rev });
      }
      return out;
    });
    for (const { task, rev } of recovered) this.emit(task, rev);
    return recovered.map((r) => r.task);
  }

  subscribe(id: string, fn: TaskListener): () => void {
    let set = this.listeners.get(id);
    if (!set) {
      this.listeners.set(id, (set = new Set()));
      // Another instance changed it (or may have): read the row and pass on a newer revision.
      this.unwatch.set(id, this.store.changes.watchTask(id, () => void this.refresh(id)));
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.listeners.get(id) === set) {
        this.listeners.delete(id);
        this.seen.delete(id);
        this.unwatch.get(id)?.();
        this.unwatch.delete(id);
      }
    };
  }

  private async refresh(id: string): Promise<void> {
    try {
      const row = (await this.store.db.query(`SELECT data, rev FROM ${this.table} WHERE id = ?`, [id])).rows[0];
      if (row) this.emit(JSON.parse(String(row.data)) as VideoTask, num(row.rev));
    } catch {
      // The database is away; the next change (or reconnection) brings the task again.
    }
  }

  async close(): Promise<void> {
    for (const off of this.unwatch.values()) off();
    this.unwatch.clear();
  }
}
