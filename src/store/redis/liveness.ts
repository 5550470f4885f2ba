/**
 * Notices a Redis that stops answering without closing the connection (process paused or hung,
 * packets black-holed). Such a Redis rejects nothing: every command would wait for the command
 * timeout (seconds), and so would every request. Instead a PING goes out on the command
 * connection every third of `timeoutMs`; Redis answers in order, so a PING unanswered for
 * `timeoutMs` means nothing sent before it is being answered either. Then the store is *down*:
 * commands waiting for a reply are failed at once, new ones fail without being sent (callers turn
 * both into 503 store_unavailable), and PINGs continue; the first answer makes it *up* again.
 *
 * A late timer is not mistaken for a dead Redis: before declaring it down the check waits for the
 * event loop's I/O phase (setImmediate), so a reply that arrived while this process was busy is
 * read first.
 */
import type { Command, Redis } from 'ioredis';

/** Raised for commands failed because Redis stopped answering; not a ReplyError, so callers treat it as a connection error. */
export class StoreUnresponsiveError extends Error {
  override name = 'StoreUnresponsiveError';
  constructor() {
    super('Redis stopped answering (liveness PING unanswered)');
  }
}

type SendCommand = (command: Command, stream?: unknown) => unknown;

export class RedisLiveness {
  private up = true;
  private readonly inFlight = new Set<Command>();
  private readonly send: SendCommand;
  /** Set while the probe's own PING is being sent, so it bypasses the down check. */
  private probing = false;
  private probeSentAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners = new Set<(up: boolean) => void>();

  constructor(
    private readonly client: Redis,
    private readonly timeoutMs: number,
  ) {
    this.send = client.sendCommand.bind(client) as SendCommand;
    // ioredis routes every command (plain, scripts, pipelines, MULTI) through sendCommand.
    (client as unknown as { sendCommand: SendCommand }).sendCommand = (command, stream) => this.guard(command, stream);
  }

  /** False from a missed PING until the next answered one. */
  get alive(): boolean {
    return this.up;
  }

  /** Called with the new state whenever it changes. */
  onChange(fn: (up: boolean) => void): void {
    this.listeners.add(fn);
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private guard(command: Command, stream?: unknown): unknown {
    // Not ready: ioredis itself fails commands at once, and its handshake (INFO ready check,
    // CLIENT SETINFO) must reach a Redis that is back, or the connection would never recover.
    if (this.probing || this.client.status !== 'ready') return this.send(command, stream);
    if (!this.up) {
      command.reject(new StoreUnresponsiveError());
      return command.promise;
    }
    this.inFlight.add(command);
    const done = () => this.inFlight.delete(command);
    command.promise.then(done, done);
    return this.send(command, stream);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.probe(), delayMs);
    this.timer.unref();
  }

  private probe(): void {
    const sentAt = Date.now();
    this.probeSentAt = sentAt;
    this.probing = true;
    let reply: Promise<string>;
    try {
      reply = this.client.ping();
    } finally {
      this.probing = false;
    }
    const deadline = setTimeout(() => setImmediate(() => this.probeSentAt === sentAt && this.setUp(false)), this.timeoutMs);
    deadline.unref();
    reply.then(
      () => {
        clearTimeout(deadline);
        if (this.probeSentAt === sentAt) this.probeSentAt = null;
        this.setUp(true);
        this.schedule(Math.max(10, Math.floor(this.timeoutMs / 3)));
      },
      () => {
        // Refused at once (connection closed, reconnecting) or timed out: down either way.
        clearTimeout(deadline);
        if (this.probeSentAt === sentAt) this.probeSentAt = null;
        this.setUp(false);
        this.schedule(Math.max(10, Math.floor(this.timeoutMs / 3)));
      },
    );
  }

  private setUp(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    if (!up) {
      const waiting = [...this.inFlight];
      this.inFlight.clear();
      for (const c of waiting) c.reject(new StoreUnresponsiveError());
    }
    for (const fn of this.listeners) fn(up);
  }
}
