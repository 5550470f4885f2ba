import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `npm start` runs what `npm install` built and never rebuilds: three instances started together
 * from one checkout used to race on `dist/` (prestart ran tsc in each), and one died with
 * "SyntaxError: … does not provide an export".
 */
const root = resolve(import.meta.dirname, '../..');
const entry = join(root, 'dist/src/server.js');
const children: ChildProcess[] = [];

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });

beforeAll(() => {
  // CI's `npm ci` ran `prepare`; a developer's tree may not have built yet.
  if (!existsSync(entry)) expect(spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' }).status).toBe(0);
}, 120_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

describe('npm start', () => {
  it('starts three instances at once from one checkout without touching dist/', async () => {
    const before = statSync(entry).mtimeMs;
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const started = ports.map((port) => {
      const child = spawn('npm', ['start'], {
        cwd: root,
        env: { ...process.env, SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', DATA_DIR: mkdtempSync(join(tmpdir(), 'g2a-start-')), LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      return { port, child, output: () => output };
    });
    for (const s of started) {
      let ok = false;
      for (let i = 0; i < 120 && !ok; i++) {
        ok = await fetch(`http://127.0.0.1:${s.port}/health`).then((r) => r.ok, () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 250));
      }
      expect(ok, s.output()).toBe(true);
      expect(s.output()).not.toMatch(/SyntaxError|tsc -p/);
    }
    expect(statSync(entry).mtimeMs).toBe(before);
  }, 60_000);
});
