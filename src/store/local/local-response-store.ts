import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/atomic-write.js';
import { RESPONSE_ID_RE, type ResponseStore, type StoredResponse } from '../responses.js';

export interface LocalResponseStoreOptions {
  dataDir: string;
  /** Clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** How often expired records are deleted from disk. Default one hour. */
  sweepIntervalMs?: number;
}

/**
 * Stored responses as one JSON file each under `<dataDir>/responses/`. One file per record keeps
 * a put independent of every other record (no big index to rewrite on the hot path) and makes
 * each put atomic and durable through writeFileAtomic (temp + fsync + rename + dir fsync). Ids
 * are checked against RESPONSE_ID_RE before they become file names.
 */
export class LocalResponseStore implements ResponseStore {
  private readonly dir: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LocalResponseStoreOptions) {
    this.dir = join(opts.dataDir, 'responses');
    this.now = opts.now ?? Date.now;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await this.sweep(true);
    this.timer = setInterval(() => void this.sweep().catch(() => {}), this.opts.sweepIntervalMs ?? 3_600_000);
    this.timer.unref();
  }

  private file(id: string): string | null {
    return RESPONSE_ID_RE.test(id) ? join(this.dir, `${id}.json`) : null;
  }

  async put(record: StoredResponse): Promise<void> {
    const file = this.file(record.id);
    if (!file) throw new Error(`invalid response id: ${record.id}`);
    await writeFileAtomic(file, JSON.stringify(record));
  }

  async get(id: string): Promise<StoredResponse | null> {
    const file = this.file(id);
    if (!file) return null;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const rec = JSON.parse(text) as StoredResponse;
    if (rec.expiresAt <= this.now()) {
      await unlink(file).catch(() => {});
      return null;
    }
    return rec;
  }

  async delete(id: string): Promise<boolean> {
    const live = (await this.get(id)) !== null;
    const file = this.file(id);
    if (file) await unlink(file).catch(() => {});
    return live;
  }

  /**
   * Deletes expired records; at start-up (`withTemps`, before any write of this process) also the
   * temp files a crashed write left behind.
   */
  async sweep(withTemps = false): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir)) {
      const path = join(this.dir, name);
      if (name.endsWith('.tmp')) {
        if (withTemps) await unlink(path).catch(() => {});
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(await readFile(path, 'utf8')) as StoredResponse;
        if (rec.expiresAt > this.now()) continue;
      } catch {
        // Unreadable records cannot be served; drop them.
      }
      await unlink(path).catch(() => {});
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
