import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { spawnServer, type ServerProcess } from '../helpers/server-process.js';

const KEY = 'media-proc-key';
const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
let fake: FakeGrok;
const dirs: string[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await fake.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startServer(dataDir: string): Promise<ServerProcess> {
  const server = await spawnServer({ GROK_BASE_URL: fake.url, GROK_ASSETS_URL: fake.url, DATA_DIR: dataDir, APP_KEY: KEY, API_KEY: KEY });
  children.push(server.child);
  return server;
}

async function waitFor(url: string, pred: (t: any) => boolean): Promise<any> {
  // Follows the task's SSE stream until the predicate holds (no sleeps).
  const id = url.split('/').pop();
  const res = await fetch(`${url}/stream`, { headers });
  const reader = res.body!.getReader();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`stream of ${id} ended first`);
      buf += Buffer.from(value).toString();
      for (const line of buf.split('\n')) if (line.startsWith('data: ') && pred(JSON.parse(line.slice(6)))) return JSON.parse(line.slice(6));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

describe('video tasks across a crash', () => {
  it('fail the running task with a message after kill -9 and a restart; completed tasks and files remain', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-media-proc-'));
    dirs.push(dataDir);
    const first = await startServer(dataDir);
    await fetch(`${first.url}/admin/api/tokens`, { method: 'POST', headers, body: JSON.stringify({ tokens: ['crash-acct'] }) });
    const create = async (prompt: string) =>
      (await fetch(`${first.url}/v1/video/tasks`, { method: 'POST', headers, body: JSON.stringify({ prompt }) }).then((r) => r.json())).task_id as string;

    const done = await create('finishes before the crash');
    const finished = await waitFor(`${first.url}/v1/video/tasks/${done}`, (e) => e.type === 'completed');
    const video = Buffer.from(await (await fetch(finished.video_url)).arrayBuffer());
    expect(video.subarray(4, 8).toString()).toBe('ftyp');

    const slow = await create('[slow] interrupted by the crash');
    await waitFor(`${first.url}/v1/video/tasks/${slow}`, (e) => e.type === 'progress');
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServer(dataDir);
    const crashed = await fetch(`${second.url}/v1/video/tasks/${slow}`, { headers }).then((r) => r.json());
    expect(crashed.status).toBe('failed');
    expect(crashed.message).toMatch(/server stopped/);
    const kept = await fetch(`${second.url}/v1/video/tasks/${done}`, { headers }).then((r) => r.json());
    expect(kept.status).toBe('completed');
    const again = await fetch(kept.video_url.replace(first.url, second.url));
    expect(again.status).toBe(200);
    expect(Buffer.from(await again.arrayBuffer())).toEqual(video);
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
