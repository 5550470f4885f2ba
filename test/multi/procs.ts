/** Child processes for the multi-instance tests: server instances and a private redis-server. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnServer } from '../helpers/server-process.js';

export const ADMIN = 'multi-admin';

export interface Proc {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  kill(): Promise<void>;
}

const tracked: { child?: ChildProcess; dir?: string }[] = [];

/** Kills every process started here and removes their temp dirs. */
export async function cleanupAll(): Promise<void> {
  for (const t of tracked.splice(0)) {
    const c = t.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
    if (t.dir) rmSync(t.dir, { recursive: true, force: true });
  }
}

/** Starts src/server.ts with its own DATA_DIR holding `toml` as config.toml, and waits for /health. */
export async function startServer(env: Record<string, string>, toml = ''): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-multi-'));
  writeFileSync(join(dir, 'config.toml'), toml);
  const { child, url, output, exited } = await spawnServer({ DATA_DIR: dir, APP_KEY: ADMIN, ...env }).catch((e) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  tracked.push({ child, dir });
  return {
    child,
    url,
    output,
    exited,
    admin: (method, path, body) =>
      fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    async kill() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RedisProc {
  url: string;
  port: number;
  start(): Promise<void>;
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its connections open and answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

/** A private redis-server (never the shared one): AOF in a temp dir, so a kill -9 and restart keeps the data. */
export async function privateRedis(): Promise<RedisProc> {
  const dir = mkdtempSync(join(tmpdir(), 'g2a-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const self: RedisProc = {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      tracked.push({ child });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      const deadline = Date.now() + 10_000;
      while (!out.includes('Ready to accept connections')) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async kill() {
      const c = child!;
      c.kill('SIGKILL');
      if (c.exitCode === null && c.signalCode === null) await new Promise((r) => c.once('exit', r));
    },
    pause() {
      child!.kill('SIGSTOP');
    },
    resume() {
      child!.kill('SIGCONT');
    },
  };
  tracked.push({ dir });
  await self.start();
  return self;
}

/**
 * The pids of the worker processes that logged Fastify's "Server listening" line (needs
 * LOG_LEVEL=info or lower). With SERVER_WORKERS > 1, /health answers once the first worker
 * listens; wait for all of them with `waitForWorkers` before sending requests that must be
 * dealt out among the workers.
 */
export function listeningPids(output: string): Set<number> {
  const pids = new Set<number>();
  for (const line of output.split('\n')) {
    if (!line.includes('Server listening at')) continue;
    try {
      const pid = (JSON.parse(line) as { pid?: unknown }).pid;
      if (typeof pid === 'number') pids.add(pid);
    } catch {
      // not a log line
    }
  }
  return pids;
}

/** Resolves with the workers' pids once `count` of them listen (the primary's own pid is never one). */
export async function waitForWorkers(proc: Pick<Proc, 'output'>, count: number, ms = 30_000): Promise<Set<number>> {
  await until(async () => listeningPids(proc.output()).size >= count, ms, `${count} workers listening`);
  return listeningPids(proc.output());
}

/** The pid of each `request` log line (config `log.requests = true`, LOG_LEVEL=info) for `url` (and `method`, when given). */
export function requestLogPids(output: string, url: string, method?: string): number[] {
  const pids: number[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('"msg":"request"')) continue;
    try {
      const l = JSON.parse(line) as { pid?: unknown; url?: unknown; method?: unknown };
      if (l.url === url && (method === undefined || l.method === method) && typeof l.pid === 'number') pids.push(l.pid);
    } catch {
      // not a log line
    }
  }
  return pids;
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function until<T>(fn: () => Promise<T>, ms = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One chat completion request; streams are read to the end. */
export async function chat(url: string, prompt: string, stream = true): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-3', stream, messages: [{ role: 'user', content: prompt }] }),
  });
  return { status: res.status, body: await res.text() };
}
