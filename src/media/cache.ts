import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { sniffMedia } from './sniff.js';

export type MediaKind = 'image' | 'video';

interface Entry {
  size: number;
  mtimeMs: number;
}

/** `<32 hex>.<ext>`: unguessable (128 random bits), and the extension carries the content type. */
const ID_RE = /^[0-9a-f]{32}\.(png|jpg|webp|gif|mp4|webm)$/;

/**
 * Generated media, downloaded once and kept under `DATA_DIR/media/<kind>/<id>` (docs/api-contract.md §7).
 * The index (size and age per file) is rebuilt from the directory on start, so the cache
 * survives restarts. Past `cache.<kind>_limit_mb` the oldest files go first, down to
 * `evict_target_ratio` of the limit; the file just added is never the one evicted.
 */
export class MediaCache {
  private readonly index: Record<MediaKind, Map<string, Entry>> = { image: new Map(), video: new Map() };
  private readonly totals: Record<MediaKind, number> = { image: 0, video: 0 };

  constructor(
    private readonly root: string,
    private readonly config: () => Config,
    private readonly log?: Logger,
  ) {}

  static forConfig(config: () => Config, log?: Logger): MediaCache {
    return new MediaCache(join(config().server.data_dir, 'media'), config, log);
  }

  async init(): Promise<void> {
    for (const kind of ['image', 'video'] as const) {
      const dir = this.dir(kind);
      await mkdir(dir, { recursive: true });
      for (const name of await readdir(dir)) {
        const path = join(dir, name);
        if (!ID_RE.test(name)) {
          // Leftover temp file of a write interrupted by a crash.
          if (name.endsWith('.tmp')) await unlink(path).catch(() => {});
          continue;
        }
        const s = await stat(path).catch(() => null);
        if (!s) continue;
        this.index[kind].set(name, { size: s.size, mtimeMs: s.mtimeMs });
        this.totals[kind] += s.size;
      }
    }
  }

  private dir(kind: MediaKind): string {
    return join(this.root, kind);
  }

  static validId(id: string): boolean {
    return ID_RE.test(id);
  }

  /** Path of a cached file, or null. */
  path(kind: MediaKind, id: string): string | null {
    if (!ID_RE.test(id) || !this.index[kind].has(id)) return null;
    return join(this.dir(kind), id);
  }

  /** Stores bytes whose type is sniffed from content; returns the new id. */
  async put(kind: MediaKind, bytes: Buffer): Promise<string> {
    const type = sniffMedia(bytes);
    if (!type) throw new Error('not a recognised image or video');
    const id = `${randomBytes(16).toString('hex')}.${type.ext}`;
    await writeFileAtomic(join(this.dir(kind), id), bytes);
    this.index[kind].set(id, { size: bytes.length, mtimeMs: Date.now() });
    this.totals[kind] += bytes.length;
    await this.evict(kind, id);
    return id;
  }

  usage(): Record<MediaKind, { files: number; bytes: number; limit_bytes: number }> {
    const c = this.config().cache;
    return {
      image: { files: this.index.image.size, bytes: this.totals.image, limit_bytes: Math.round(c.image_limit_mb * 1024 * 1024) },
      video: { files: this.index.video.size, bytes: this.totals.video, limit_bytes: Math.round(c.video_limit_mb * 1024 * 1024) },
    };
  }

  async clear(kind?: MediaKind): Promise<number> {
    let n = 0;
    for (const k of kind ? [kind] : (['image', 'video'] as const)) {
      for (const id of [...this.index[k].keys()]) {
        await this.remove(k, id);
        n++;
      }
    }
    return n;
  }

  private async remove(kind: MediaKind, id: string): Promise<void> {
    const e = this.index[kind].get(id);
    if (!e) return;
    this.index[kind].delete(id);
    this.totals[kind] -= e.size;
    await unlink(join(this.dir(kind), id)).catch(() => {});
  }

  private async evict(kind: MediaKind, keep: string): Promise<void> {
    const c = this.config().cache;
    const limit = (kind === 'image' ? c.image_limit_mb : c.video_limit_mb) * 1024 * 1024;
    if (limit <= 0 || this.totals[kind] <= limit) return;
    const target = limit * c.evict_target_ratio;
    const oldest = [...this.index[kind].entries()].filter(([id]) => id !== keep).sort((a, b) => a[1].mtimeMs - b[1].mtimeMs);
    let evicted = 0;
    for (const [id] of oldest) {
      if (this.totals[kind] <= target) break;
      await this.remove(kind, id);
      evicted++;
    }
    this.log?.info({ kind, evicted, bytes: this.totals[kind] }, 'media cache evicted oldest files');
  }
}
