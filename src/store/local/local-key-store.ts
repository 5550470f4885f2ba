/**
 * Client keys for the single-process deployment: a Map in memory, persisted to
 * `<dataDir>/keys.json` with an atomic write. Operator changes (create, update, revoke) resolve
 * once durable; request counters and last-used times are written with a short debounce (a
 * crash loses at most the last second of counting, never a key).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readOwnedFile, writeFileAtomic } from '../../lib/atomic-write.js';
import {
  type ClientKey,
  type ClientKeyPatch,
  type HitResult,
  type KeyStore,
  type NewClientKey,
  type RateLimits,
  withKeyDefaults,
} from '../keys.js';
import { emptyRateLogs, slidingHit, type RateLogs } from '../rate-window.js';
import { StateWriter } from './state-writer.js';

type Counters = RateLogs;

export const KEYS_FILE_NAME = 'keys.json';

export class LocalKeyStore implements KeyStore {
  readonly file: string;
  private readonly keys = new Map<string, ClientKey>();
  private readonly byHash = new Map<string, string>();
  private readonly counters = new Map<string, Counters>();
  private readonly writer: StateWriter;

  constructor(opts: { dataDir: string; flushDelayMs?: number; onFlushError?: (err: unknown) => void }) {
    this.file = join(opts.dataDir, KEYS_FILE_NAME);
    this.writer = new StateWriter(() => writeFileAtomic(this.file, this.serialize()), {
      delayMs: opts.flushDelayMs ?? 1000,
      onError: opts.onFlushError,
    });
  }

  async init(): Promise<void> {
    const text = await readOwnedFile(this.file);
    if (text === null) return;
    let data: { keys?: ClientKey[]; counters?: Record<string, Counters> };
    try {
      data = JSON.parse(text) as typeof data;
    } catch {
      throw new Error(`${this.file} is not valid JSON; restore it from a backup or remove it (every client key would be lost)`);
    }
    for (const stored of data.keys ?? []) {
      const k = withKeyDefaults(stored);
      this.keys.set(k.id, k);
      this.byHash.set(k.hash, k.id);
    }
    // Files from before sliding windows hold { start, count } windows: those are dropped (a fresh log).
    for (const [id, c] of Object.entries(data.counters ?? {})) if (this.keys.has(id) && Array.isArray(c.rpm) && Array.isArray(c.rpd)) this.counters.set(id, c);
  }

  async close(): Promise<void> {
    await this.writer.drain();
  }

  private serialize(): string {
    return JSON.stringify({ version: 1, keys: [...this.keys.values()], counters: Object.fromEntries(this.counters) });
  }

  async create(input: NewClientKey): Promise<ClientKey> {
    const key: ClientKey = { ...withKeyDefaults(input), id: `key_${randomBytes(8).toString('hex')}`, createdAt: Date.now(), lastUsedAt: null };
    this.keys.set(key.id, key);
    this.byHash.set(key.hash, key.id);
    await this.writer.flush();
    return { ...key };
  }

  async list(): Promise<ClientKey[]> {
    return [...this.keys.values()].map((k) => ({ ...k }));
  }

  async get(id: string): Promise<ClientKey | null> {
    const k = this.keys.get(id);
    return k ? { ...k } : null;
  }

  async findByHash(hash: string): Promise<ClientKey | null> {
    const id = this.byHash.get(hash);
    return id ? this.get(id) : null;
  }

  async update(id: string, patch: ClientKeyPatch): Promise<ClientKey | null> {
    const k = this.keys.get(id);
    if (!k) return null;
    const next = { ...k, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as ClientKey;
    this.keys.set(id, next);
    // New limits start from fresh windows, so raising a limit takes effect at once.
    if (patch.rpm !== undefined || patch.rpd !== undefined) this.counters.delete(id);
    await this.writer.flush();
    return { ...next };
  }

  async revoke(id: string): Promise<boolean> {
    const k = this.keys.get(id);
    if (!k) return false;
    this.keys.delete(id);
    this.byHash.delete(k.hash);
    this.counters.delete(id);
    await this.writer.flush();
    return true;
  }

  async count(): Promise<number> {
    return this.keys.size;
  }

  async hit(id: string, limits: RateLimits, now = Date.now()): Promise<HitResult> {
    const k = this.keys.get(id);
    if (!k) return { ok: true };
    const c = this.counters.get(id) ?? emptyRateLogs();
    const result = slidingHit(c, limits, now);
    if (!result.ok) return result;
    this.counters.set(id, c);
    k.lastUsedAt = now;
    this.writer.markDirty();
    return { ok: true };
  }
}
