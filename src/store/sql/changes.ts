/**
 * How instances on one database hear about each other's changes (settings, video tasks).
 * PostgreSQL: NOTIFY inside the writing transaction (delivered at commit) and LISTEN on a
 * dedicated connection. MySQL/MariaDB have no such thing, so each instance polls what it cares
 * about every `pollMs`: the settings version row, and the revision of the tasks it watches.
 * Either way a listener may be called once more than strictly needed (after a reconnection, or
 * with the current state when it starts watching); listeners read the current state, so that is harmless.
 */
import type { SqlConn, SqlDb } from './db.js';
import type { Tables } from './schema.js';

type Event = { t: 'settings' } | { t: 'task'; id: string };

export class ChangeFeed {
  private readonly settingsListeners = new Set<() => void>();
  private readonly taskListeners = new Map<string, Set<() => void>>();
  private listener: { close(): Promise<void> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private settingsVersion: number | null = null;
  /** Last revision seen per watched task; undefined until the first poll. */
  private readonly taskRevs = new Map<string, number>();

  constructor(
    private readonly db: SqlDb,
    private readonly t: Tables,
    /** NOTIFY channel of this deployment (PostgreSQL). */
    private readonly channel: string,
    private readonly pollMs = 250,
  ) {}

  async start(): Promise<void> {
    const listen = this.db.driver.listen;
    if (listen) {
      this.listener = listen.call(this.db.driver, this.channel, (payload) => this.dispatch(payload), () => this.fireAll());
      return;
    }
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.listener?.close();
    this.listener = null;
  }

  /** Inside the writing transaction: tells the other instances once it commits (no-op where they poll). */
  async announce(c: SqlConn, event: Event): Promise<void> {
    if (this.db.dialect === 'pgsql') await c.query('SELECT pg_notify(?, ?)', [this.channel, JSON.stringify(event)]);
  }

  onSettings(fn: () => void): void {
    this.settingsListeners.add(fn);
  }

  /** Calls `fn` whenever task `id` may have changed; returns the unsubscribe. */
  watchTask(id: string, fn: () => void): () => void {
    let set = this.taskListeners.get(id);
    if (!set) this.taskListeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) {
        this.taskListeners.delete(id);
        this.taskRevs.delete(id);
      }
    };
  }

  private dispatch(payload: string): void {
    let e: Event;
    try {
      e = JSON.parse(payload) as Event;
    } catch {
      return;
    }
    if (e.t === 'settings') for (const fn of this.settingsListeners) fn();
    else if (e.t === 'task') for (const fn of this.taskListeners.get(e.id) ?? []) fn();
  }

  private fireAll(): void {
    for (const fn of this.settingsListeners) fn();
    for (const set of this.taskListeners.values()) for (const fn of set) fn();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if (this.settingsListeners.size > 0) {
        const row = (await this.db.query(`SELECT version FROM ${this.t.state} WHERE name = 'settings'`)).rows[0];
        const v = Number(row?.version ?? 0);
        // The first poll fires too: a change between the listener's own first read and now would be lost otherwise.
        if (v !== this.settingsVersion) for (const fn of this.settingsListeners) fn();
        this.settingsVersion = v;
      }
      const ids = [...this.taskListeners.keys()];
      if (ids.length > 0) {
        const rows = (await this.db.query(`SELECT id, rev FROM ${this.t.tasks} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids)).rows;
        for (const r of rows) {
          const id = String(r.id);
          const rev = Number(r.rev);
          if (this.taskRevs.get(id) !== rev) {
            this.taskRevs.set(id, rev);
            for (const fn of this.taskListeners.get(id) ?? []) fn();
          }
        }
      }
    } catch {
      // The database is away: the next poll after it is back sees what changed meanwhile.
    } finally {
      this.polling = false;
    }
  }
}
