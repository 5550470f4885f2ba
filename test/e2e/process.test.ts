import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { spawnServer, type ServerProcess } from '../helpers/server-process.js';

const ROOT = resolve(import.meta.dirname, '../..');

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

/** Starts the real server entry as its own process (killed after the file's tests). */
async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const server = await spawnServer({ GROK_BASE_URL: fake.url, ...env });
  children.push(server.child);
  return server;
}

describe('the server process', () => {
  it('keeps acknowledged imports across kill -9 and a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-proc-'));
    dirs.push(dataDir);
    const env = { DATA_DIR: dataDir, APP_KEY: 'proc-admin' };
    const first = await startServer(env);
    const imported = await fetch(`${first.url}/admin/api/tokens`, {
      method: 'POST',
      headers: { authorization: 'Bearer proc-admin', 'content-type': 'application/json' },
      body: JSON.stringify({ tokens: 'durable-1\nsso=durable-2\na=b; sso=durable-3; c=d', tags: ['keep'] }),
    }).then((r) => r.json());
    expect(imported.added).toBe(3);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startServer(env);
    const { tokens } = await fetch(`${second.url}/admin/api/tokens`, { headers: { authorization: 'Bearer proc-admin' } }).then((r) => r.json());
    expect(tokens.map((t: { id: string }) => t.id).sort()).toEqual([...imported.ids].sort());
    expect(tokens.every((t: { tags: string[] }) => t.tags.includes('keep'))).toBe(true);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('lets a running stream finish on SIGTERM, then exits cleanly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-proc-'));
    dirs.push(dataDir);
    const server = await startServer({ DATA_DIR: dataDir, APP_KEY: 'proc-admin' });
    await fetch(`${server.url}/admin/api/tokens`, {
      method: 'POST',
      headers: { authorization: 'Bearer proc-admin', 'content-type': 'application/json' },
      body: JSON.stringify({ tokens: ['drain-acct'] }),
    });
    const answer = Array.from({ length: 20 }, (_, i) => `w${i}`).join(' ');
    fake.script('drain-me', { kind: 'plain', answer, interTokenDelayMs: 40 });
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4', stream: true, messages: [{ role: 'user', content: 'drain-me' }] }),
    });
    const reader = res.body!.getReader();
    let text = Buffer.from((await reader.read()).value!).toString();
    server.child.kill('SIGTERM');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(text).toContain('data: [DONE]');
    const content = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? '').join('');
    expect(content).toBe(answer);
    expect(await server.exited).toBe(0);
  });

  it('ends streams still running when the grace period runs out in-band, before closing the connection', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-proc-'));
    dirs.push(dataDir);
    writeFileSync(join(dataDir, 'config.toml'), '[server]\nshutdown_grace_sec = 1\n');
    const server = await startServer({ DATA_DIR: dataDir, APP_KEY: 'proc-admin' });
    await fetch(`${server.url}/admin/api/tokens`, {
      method: 'POST',
      headers: { authorization: 'Bearer proc-admin', 'content-type': 'application/json' },
      body: JSON.stringify({ tokens: ['cut-1', 'cut-2', 'cut-3'] }),
    });
    // 60 tokens 100 ms apart: 6 s of answer against a 1 s grace period.
    const answer = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const open = (path: string, prompt: string, body: (p: string) => Record<string, unknown>) => {
      fake.script(prompt, { kind: 'plain', answer, interTokenDelayMs: 100 });
      return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'grok-4', stream: true, ...body(prompt) }) });
    };
    const streams = await Promise.all([
      open('/v1/chat/completions', 'cut-chat', (p) => ({ messages: [{ role: 'user', content: p }] })),
      open('/v1/responses', 'cut-responses', (p) => ({ input: p })),
      open('/v1/messages', 'cut-messages', (p) => ({ max_tokens: 100, messages: [{ role: 'user', content: p }] })),
    ]);
    const readers = streams.map((r) => r.body!.getReader());
    const texts = await Promise.all(readers.map(async (r) => Buffer.from((await r.read()).value!).toString()));
    const stoppedAt = Date.now();
    server.child.kill('SIGTERM');
    // Reads to the end: a connection cut before the final event would fail here or miss it below.
    await Promise.all(
      readers.map(async (r, i) => {
        for (;;) {
          const { done, value } = await r.read();
          if (done) break;
          texts[i] += Buffer.from(value).toString();
        }
      }),
    );
    const elapsed = Date.now() - stoppedAt;
    const [chat, responses, messages] = texts as [string, string, string];
    expect(elapsed).toBeLessThan(4000);

    const chatData = chat.trim().split('\n\n').map((e) => e.replace(/^data: /, ''));
    expect(chatData.at(-1)).toBe('[DONE]');
    const chatError = JSON.parse(chatData.at(-2)!);
    expect(chatError.error).toMatchObject({ code: 'server_shutting_down', type: 'server_error' });
    const content = chatData.slice(0, -2).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '').join('');
    expect(content.length).toBeGreaterThan(0);
    expect(answer.startsWith(content) && content !== answer).toBe(true);

    const lastEvent = (text: string) => {
      const e = text.trim().split('\n\n').at(-1)!;
      return { name: /^event: (.+)$/m.exec(e)?.[1], data: JSON.parse(/^data: (.+)$/m.exec(e)![1]!) };
    };
    const failed = lastEvent(responses);
    expect(failed.name).toBe('response.failed');
    expect(failed.data.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    expect(failed.data.response.error.message).toContain('shutting down');
    const anthropicError = lastEvent(messages);
    expect(anthropicError.name).toBe('error');
    expect(anthropicError.data).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(anthropicError.data.error.message).toContain('shutting down');
    expect(await server.exited).toBe(0);
  });

  it('generates an admin key on first start, prints it once, and reuses it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'g2a-proc-'));
    dirs.push(dataDir);
    const first = await startServer({ DATA_DIR: dataDir });
    const key = /Admin key generated \(shown only now\): (\S+)/.exec(first.output())?.[1];
    expect(key).toBeTruthy();
    expect((await fetch(`${first.url}/admin/api/tokens`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await fetch(`${first.url}/admin/api/tokens`)).status).toBe(401);
    first.child.kill('SIGTERM');
    await first.exited;
    const second = await startServer({ DATA_DIR: dataDir });
    expect(second.output()).not.toContain('Admin key generated');
    expect((await fetch(`${second.url}/admin/api/tokens`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    second.child.kill('SIGTERM');
    await second.exited;
  });

  it('refuses to start on an invalid setting with one line naming the key', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: join(tmpdir(), 'g2a-never'), SERVER_PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain('server.port');
  });
});
