/**
 * Admin sessions for the single-process deployment: a Map persisted to `<dataDir>/sessions.json`
 * (atomic write before login/logout answer), so a restart keeps sessions and a logout stays a
 * logout. The login throttle lives in memory only: a restart forgets failure streaks, which costs
 * an attacker a restart they cannot cause.
 */
import { join } from 'node:path';
import { readOwnedFile, writeFileAtomic } from '../../lib/atomic-write.js';
import { claimLoginSlot, type LoginSlot, type SessionStore, type ThrottleState } from '../sessions.js';
import { StateWriter } from './state-writer.js';

export const SESSIONS_FILE_NAME = 'sessions.json';
/** Throttle entries kept before expired ones are swept (and, past twice that, the oldest dropped). */
const THROTTLE_SWEEP_AT = 10_000;

export class LocalSessionStore implements SessionStore {
  readonly file: string;
  /** lookup id → expiry (epoch ms). */
  private readonly sessions = new Map<string, number>();
  private readonly throttle = new Map<string, ThrottleState>();
  private readonly writer: StateWriter;

  constructor(opts: { dataDir: string; onFlushError?: (err: unknown) => void }) {
    this.file = join(opts.dataDir, SESSIONS_FILE_NAME);
    this.writer = new StateWriter(() => writeFileAtomic(this.file, JSON.stringify({ version: 1, sessions: Object.fromEntries(this.sessions) })), {
      delayMs: 1000,
      onError: opts.onFlushError,
    });
  }

  async init(): Promise<void> {
    const text = await readOwnedFile(this.file);
    if (text === null) return;
    let data: { sessions?: Record<string, number> };
    try {
      data = JSON.parse(text) as typeof data;
    } catch {
      // Losing sessions only means signing in again; never refuse to start over it.
      return;
    }
    const now = Date.now();
    for (const [id, exp] of Object.entries(data.sessions ?? {})) if (typeof exp === 'number' && exp > now) this.sessions.set(id, exp);
  }

  async close(): Promise<void> {
    await this.writer.drain();
  }

  async create(lookupId: string, expiresAt: number): Promise<void> {
    const now = Date.now();
    for (const [id, exp] of this.sessions) if (exp <= now) this.sessions.delete(id);
    this.sessions.set(lookupId, expiresAt);
    await this.writer.flush();
  }

  async isValid(lookupId: string, now = Date.now()): Promise<boolean> {
    const exp = this.sessions.get(lookupId);
    return exp !== undefined && exp > now;
  }

  async remove(lookupId: string): Promise<void> {
    if (this.sessions.delete(lookupId)) await this.writer.flush();
  }

  async removeAll(): Promise<number> {
    const now = Date.now();
    const live = [...this.sessions.values()].filter((exp) => exp > now).length;
    this.sessions.clear();
    await this.writer.flush();
    return live;
  }

  async claimLoginSlot(client: string, now = Date.now()): Promise<LoginSlot> {
    const { slot, state } = claimLoginSlot(this.throttle.get(client) ?? null, now);
    this.throttle.delete(client);
    if (state) this.throttle.set(client, state);
    if (this.throttle.size > THROTTLE_SWEEP_AT) this.sweep(now);
    return slot;
  }

  async clearLoginFailures(client: string): Promise<void> {
    this.throttle.delete(client);
  }

  private sweep(now: number): void {
    for (const [k, s] of this.throttle) if (s.expiresAt <= now) this.throttle.delete(k);
    // Entries are re-inserted on every try, so iteration order is oldest try first.
    for (const k of this.throttle.keys()) {
      if (this.throttle.size <= THROTTLE_SWEEP_AT * 2) break;
      this.throttle.delete(k);
    }
  }
}
