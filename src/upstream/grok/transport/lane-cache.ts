import type { EgressRelay, Lane } from './egress-relay.js';

/** A native client object (wreq Transport or Session) bound to one relay lane. */
export interface Laned<T> {
  readonly key: string;
  readonly handle: T;
  readonly lane: Lane;
  lastUsed: number;
}

/**
 * Idle wreq clients kept for reuse, one request (or socket) at a time each. Creating a wreq
 * Transport or Session costs about 9–10 ms of CPU (measured: 10.4 ms per createTransport, 8.8 ms
 * per createSession, against 0.4 ms for a request on a reused one), so a turn takes an idle one
 * for its egress and identity, and gives it back when done. Because a client serves one turn at
 * a time, cutting its lane's connections stops exactly that turn; such a client is then replaced.
 */
const MAX_IDLE_PER_KEY = 32;

export class LaneCache<T> {
  private readonly idle = new Map<string, Laned<T>[]>();

  constructor(
    private readonly relay: EgressRelay,
    private readonly dispose: (handle: T) => Promise<void>,
    private readonly idleMs: number,
  ) {}

  /** An idle client for `key`, or a new one from `create` (given the lane's proxy URL). */
  async take(key: string, account: string | undefined, create: (proxyUrl: string, lane: Lane) => Promise<T>): Promise<Laned<T>> {
    const list = this.idle.get(key);
    while (list?.length) {
      const e = list.pop()!;
      if (!e.lane.killed) return e;
    }
    const { lane, proxyUrl } = this.relay.open(account);
    return { key, handle: await create(proxyUrl, lane), lane, lastUsed: Date.now() };
  }

  /**
   * Back to the idle list after a clean turn. After an aborted or failed one the connection is
   * cut and the client discarded: wreq learns of a cut connection only asynchronously, and a turn
   * that reused the client at once could still be handed the dead connection (seen as a reset).
   */
  give(e: Laned<T>, clean: boolean): void {
    if (!clean || e.lane.killed) return this.discard(e);
    e.lastUsed = Date.now();
    let list = this.idle.get(e.key);
    if (!list) this.idle.set(e.key, (list = []));
    // Each idle client holds about 1.5 MiB of native memory: keep enough for a burst, not all of it.
    if (list.length >= MAX_IDLE_PER_KEY) return this.discard(e);
    list.push(e);
  }

  /** Drops idle clients whose key starts with `prefix` (a new identity for an egress or account). */
  drop(prefix: string): void {
    for (const [key, list] of this.idle) {
      if (!key.startsWith(prefix)) continue;
      this.idle.delete(key);
      for (const e of list) this.discard(e);
    }
  }

  /** Closes clients idle longer than `idleMs`. */
  sweep(now = Date.now()): void {
    for (const [key, list] of this.idle) {
      const keep = list.filter((e) => now - e.lastUsed < this.idleMs);
      for (const e of list) if (!keep.includes(e)) this.discard(e);
      if (keep.length) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
  }

  clear(): void {
    for (const list of this.idle.values()) for (const e of list) this.discard(e);
    this.idle.clear();
  }

  private discard(e: Laned<T>): void {
    this.relay.kill(e.lane);
    void this.dispose(e.handle).catch(() => {});
  }
}
