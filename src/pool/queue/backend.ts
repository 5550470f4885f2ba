/**
 * Where the waiters of the slot queue (./wait-queue.ts) are kept. One backend holds every lease
 * class's queue; each waiter has an id (unique per request) and an expiry after which it is
 * dropped even if its instance died without leaving.
 */
export interface QueueBackend {
  /** Appends the waiter to `queue`; false when `max` waiters (over every queue) already wait. */
  join(queue: string, id: string, expiresAt: number, max: number): Promise<boolean>;
  leave(queue: string, id: string): Promise<void>;
  /** The ids of the `count` oldest live waiters of `queue`, oldest first. */
  head(queue: string, count: number): Promise<string[]>;
  /** Live waiters over every queue (and so every instance sharing the backend). */
  depth(): Promise<number>;
  /** Tells every instance's waiters that a slot may have freed or a queue moved. */
  notify(): Promise<void>;
  /** Registers the handler for notify() (from this instance or, on shared backends, others). */
  onNotify(fn: () => void): Promise<void>;
  /** True when other instances share these queues (so releases there are heard only via notify). */
  readonly shared: boolean;
}

interface Entry {
  queue: string;
  id: string;
  expiresAt: number;
}

/**
 * This process's queues, in memory: for local storage, and for the SQL stores, where each
 * instance keeps its own queue (fair within an instance; releases on other instances are
 * noticed by the wait queue's periodic re-check).
 */
export class MemoryQueueBackend implements QueueBackend {
  readonly shared = false;
  /** In arrival order. */
  private entries: Entry[] = [];
  private readonly listeners: (() => void)[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  private prune(): void {
    const now = this.now();
    if (this.entries.some((e) => e.expiresAt <= now)) this.entries = this.entries.filter((e) => e.expiresAt > now);
  }

  async join(queue: string, id: string, expiresAt: number, max: number): Promise<boolean> {
    this.prune();
    if (this.entries.length >= max) return false;
    this.entries.push({ queue, id, expiresAt });
    return true;
  }

  async leave(queue: string, id: string): Promise<void> {
    this.entries = this.entries.filter((e) => !(e.queue === queue && e.id === id));
  }

  async head(queue: string, count: number): Promise<string[]> {
    this.prune();
    const ids: string[] = [];
    for (const e of this.entries) {
      if (ids.length >= count) break;
      if (e.queue === queue) ids.push(e.id);
    }
    return ids;
  }

  async depth(): Promise<number> {
    this.prune();
    return this.entries.length;
  }

  async notify(): Promise<void> {
    for (const fn of this.listeners) fn();
  }

  async onNotify(fn: () => void): Promise<void> {
    this.listeners.push(fn);
  }
}
