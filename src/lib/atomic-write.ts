import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Replaces `path` with `data` so that a crash (even `kill -9` or power loss) leaves either the
 * old or the new content, never a torn file: write a temp file in the same directory, fsync it,
 * rename it over the target (atomic on POSIX), then fsync the directory so the rename itself is
 * on disk. Resolves only once all of that has happened.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `${tempPrefix(path)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  let dh;
  try {
    dh = await open(dir, 'r');
  } catch (err) {
    // Windows cannot open a directory for fsync; the rename is as durable as that OS allows.
    if (process.platform === 'win32') return;
    throw err;
  }
  try {
    await dh.sync();
  } catch (err) {
    // Some filesystems reject fsync on a directory (EINVAL); nothing more can be done there.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await dh.close();
  }
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.`;
}

/**
 * Deletes temp files a crashed `writeFileAtomic(path, …)` left next to `path`. Only safe while
 * no other process writes that file (the caller owns it). Returns how many were removed.
 */
export async function removeStaleTemps(path: string): Promise<number> {
  const prefix = tempPrefix(path);
  let removed = 0;
  for (const name of await readdir(dirname(path))) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) {
      await unlink(join(dirname(path), name)).catch(() => {});
      removed++;
    }
  }
  return removed;
}

/**
 * Start-up read of a file this process owns and writes with `writeFileAtomic`: clears the temp
 * files a crash may have left beside it, then returns its text, or null when it does not exist yet.
 */
export async function readOwnedFile(path: string): Promise<string | null> {
  await removeStaleTemps(path).catch(() => 0);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
