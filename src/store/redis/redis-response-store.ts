/**
 * Stored `/v1/responses` results in Redis: one key per response with the expiry on the key
 * itself (PXAT), so every instance serves GET and `previous_response_id`. Records are immutable,
 * so SET/GET/GETDEL are atomic enough; reads still check `expiresAt` (the contract's absolute expiry).
 */
import type { ResponseStore, StoredResponse } from '../responses.js';
import type { RedisStore } from './redis-store.js';
import { isConnectionError, storeUnavailable } from './connection.js';

export class RedisResponseStore implements ResponseStore {
  constructor(private readonly store: RedisStore, private readonly now: () => number = Date.now) {}

  private key(id: string): string {
    return this.store.keys.key('resp', id);
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isConnectionError(err)) throw storeUnavailable(this.store.label);
      throw err;
    }
  }

  private live(json: string | null): StoredResponse | null {
    if (json === null) return null;
    const rec = JSON.parse(json) as StoredResponse;
    return rec.expiresAt > this.now() ? rec : null;
  }

  async put(record: StoredResponse): Promise<void> {
    if (record.expiresAt <= this.now()) return;
    await this.run(() => this.store.client.set(this.key(record.id), JSON.stringify(record), 'PXAT', record.expiresAt));
  }

  async get(id: string): Promise<StoredResponse | null> {
    return this.live(await this.run(() => this.store.client.get(this.key(id))));
  }

  async delete(id: string): Promise<boolean> {
    return this.live(await this.run(() => this.store.client.getdel(this.key(id)))) !== null;
  }

  async close(): Promise<void> {}
}
