import { EventEmitter } from 'node:events';
import type { RecordedRequest } from './types.js';

/** The request log, with change notifications so tests can await a request without polling. */
export class Recorder {
  /** Kept as the same array for the server's lifetime: tests may hold a reference across reset(). */
  readonly requests: RecordedRequest[] = [];
  private nextId = 1;
  private events = new EventEmitter();

  constructor() {
    // Many tests may wait at once; each waiter is one listener.
    this.events.setMaxListeners(0);
  }

  add(rec: Omit<RecordedRequest, 'id'>): RecordedRequest {
    const full = rec as RecordedRequest;
    full.id = this.nextId++;
    this.requests.push(full);
    this.changed();
    return full;
  }

  /** Call after mutating a recorded request (e.g. closedAt) so waiters re-check. */
  changed(): void {
    this.events.emit('change');
  }

  reset(): void {
    this.requests.length = 0;
  }

  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    let found: RecordedRequest | undefined;
    try {
      found = this.requests.find(pred);
    } catch (err) {
      return Promise.reject(err);
    }
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onChange = () => {
        let hit: RecordedRequest | undefined;
        try {
          hit = this.requests.find(pred);
        } catch (err) {
          finish();
          reject(err);
          return;
        }
        if (hit) {
          finish();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`fake-grok waitFor: no matching request within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.events.off('change', onChange);
      };
      this.events.on('change', onChange);
    });
  }
}
