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
 * Transport or Session costs 2.5–10 ms of CPU and its first request a TLS handshake (measured on
 * the benchmark's https fake: 2.5 ms per createTransport, 1–1.4 ms for the first request on a new
 * connection, 0.22 ms for a request on a warm one), so a turn takes an idle one for its egress and
 * identity, and gives it back when done. Because a client serves one turn at a time, cutting its
 * lane's connections stops exactly that turn; such a client is then replaced.
 *
 * How many idle clients a key keeps follows its recent concurrency: as many as were busy at once
 * since the previous sweep (at least `MIN_IDLE_PER_KEY`, at most `MAX_IDLE_PER_KEY`). A fixed cap
 * of 32 made a steady 64 concurrent turns close half their clients on every return and create
 * them again (with a new TLS handshake) on the next take; each idle client holds ~1–1.5 MiB of
 * native memory, so after a burst the surplus goes at the next sweep (once a minute), not when the
 * 5-minute idle timeout ends, and no key keeps more than 128 (at 512, the benchmark's 1,000 held
 * streams left ~1 GiB of idle clients for two minutes).
 */
const MIN_IDLE_PER_KEY = 8;
const MAX_IDLE_PER_KEY = 128;

interface Load {
  busy: number;
  /** Most clients busy at once since the last sweep. */
  peak: number;
}

export class LaneCache<T> {
  private readonly idle = new Map<string, Laned<T>[]>();
  private readonly load = new Map<string, Load>();

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
      if (!e.lane.killed) return this.busy(e);
      this.discard(e);
    }
    const { lane, proxyUrl } = this.relay.open(account);
    let handle: T;
    try {
      handle = await create(proxyUrl, lane);
    } catch (e) {
      this.relay.kill(lane);
      throw e;
    }
    return this.busy({ key, handle, lane, lastUsed: Date.now() });
  }

  private busy(e: Laned<T>): Laned<T> {
    let l = this.load.get(e.key);
    if (!l) this.load.set(e.key, (l = { busy: 0, peak: 0 }));
    l.busy++;
    if (l.busy > l.peak) l.peak = l.busy;
    return e;
  }

  /** How many idle clients `key` may keep now. */
  private keep(key: string): number {
    return Math.min(MAX_IDLE_PER_KEY, Math.max(MIN_IDLE_PER_KEY, this.load.get(key)?.peak ?? 0));
  }

  /**
   * Back to the idle list after a clean turn. After an aborted or failed one the connection is
   * cut and the client discarded: wreq learns of a cut connection only asynchronously, and a turn
   * that reused the client at once could still be handed the dead connection (seen as a reset).
   */
  give(e: Laned<T>, clean: boolean): void {
    const l = this.load.get(e.key);
    if (l && l.busy > 0) l.busy--;
    if (!clean || e.lane.killed) return this.discard(e);
    e.lastUsed = Date.now();
    let list = this.idle.get(e.key);
    if (!list) this.idle.set(e.key, (list = []));
    // Each idle client holds about 1–1.5 MiB of native memory: keep what the recent load needs.
    if (list.length >= this.keep(e.key)) return this.discard(e);
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

  /**
   * Closes clients idle longer than `idleMs`, and those beyond what the load since the last sweep
   * needed (the least recently used first); the next interval's peak starts from what is busy now.
   */
  sweep(now = Date.now()): void {
    for (const [key, list] of this.idle) {
      const fresh = list.filter((e) => now - e.lastUsed < this.idleMs);
      // The list is a stack (most recently given last): the oldest go first.
      const keep = fresh.slice(Math.max(0, fresh.length - this.keep(key)));
      const kept = new Set(keep);
      for (const e of list) if (!kept.has(e)) this.discard(e);
      if (keep.length) this.idle.set(key, keep);
      else this.idle.delete(key);
    }
    for (const [key, l] of this.load) {
      l.peak = l.busy;
      if (l.busy === 0 && !this.idle.has(key)) this.load.delete(key);
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
