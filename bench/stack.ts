/**
 * Starts the benchmark's processes, each on its own: the fake grok.com in benchmark mode, the
 * proxy (the compiled dist/ build, as deployed), the peer gateway and the load generator.
 * Everything listens on 127.0.0.1 only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadJob, LoadResult } from './loadgen.js';
import { freePort, startChild, waitHttp, type Child } from './procs.js';

export const API_KEY = 'sk-bench-client';
export const ADMIN_KEY = 'bench-admin-key';

export interface Target {
  name: 'direct' | 'proxy' | 'proxy-undici' | 'peer';
  url: string;
  headers: Record<string, string>;
  /** The server process whose CPU and memory this target's figures are about. */
  pid: number;
}

export async function startFake(root: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startChild('fake-grok', process.execPath, ['--import', 'tsx', 'test/fake-grok/cli.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', FAKE_BENCH: '1' },
  });
  const m = await child.waitForLine(/listening on (http:\/\/\S+)/, 30_000);
  return { child, url: m[1]! };
}

export interface ProxyOptions {
  root: string;
  dataDir: string;
  fakeUrl: string;
  accounts: number;
  /** Directory for a V8 CPU profile (written when the proxy exits), or null. */
  profileDir: string | null;
  /** Extra node flags (e.g. --expose-gc for bench/leak-check.ts); BENCH_PROXY_NODE_ARGS adds more. */
  nodeArgs?: string[];
  /** The compiled entry point (default dist/src/server.js). */
  entry?: string;
  /** Extra environment for the proxy process. */
  env?: Record<string, string>;
}

export async function startProxy(o: ProxyOptions): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  mkdirSync(o.dataDir, { recursive: true });
  // The pool must never be the bottleneck: 1,000 streams per account (the schema's maximum).
  writeFileSync(join(o.dataDir, 'config.toml'), '[token]\nmax_concurrency_per_account = 1000\n');
  const extra = [...(o.nodeArgs ?? []), ...(process.env.BENCH_PROXY_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const args = [...extra, ...(o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] : []), o.entry ?? 'dist/src/server.js'];
  const child = startChild('proxy', process.execPath, args, {
    cwd: o.root,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATA_DIR: o.dataDir,
      SERVER_HOST: '127.0.0.1',
      SERVER_PORT: String(port),
      API_KEY,
      APP_KEY: ADMIN_KEY,
      GROK_BASE_URL: o.fakeUrl,
      GROK_ASSETS_URL: o.fakeUrl,
      // Bench mode serves the REST endpoint; the mgw WebSocket transport has no bench mode yet.
      GROK_CHAT_TRANSPORT: 'rest',
      PROXY_URL: '',
      ...o.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/health`, 30_000, child);
  const tokens = Array.from({ length: o.accounts }, (_, i) => `bench-sso-token-${i}`);
  const res = await fetch(`${url}/admin/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tokens }),
  });
  if (res.status !== 200) throw new Error(`proxy: account import failed: ${res.status} ${await res.text()}`);
  return { child, url };
}

export async function startPeer(root: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startChild('peer', process.execPath, ['bench/peer.mjs', `--port=${port}`, '--headless'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/`, 30_000, child);
  return { child, url };
}

/**
 * `proxy` is the production build (grok.com through the Chrome-impersonating client); `proxy-undici`
 * is the same build with GROK_HTTP_CLIENT=undici, so the client's own cost shows side by side.
 */
export function targets(fakeUrl: string, fake: Child, proxyUrl: string, proxy: Child, peerUrl: string | null, peer: Child | null, undici?: { url: string; child: Child }): Target[] {
  const list: Target[] = [
    { name: 'direct', url: `${fakeUrl}/v1/chat/completions`, headers: { authorization: 'Bearer sk-direct' }, pid: fake.pid },
    { name: 'proxy', url: `${proxyUrl}/v1/chat/completions`, headers: { authorization: `Bearer ${API_KEY}` }, pid: proxy.pid },
  ];
  if (undici) list.push({ name: 'proxy-undici', url: `${undici.url}/v1/chat/completions`, headers: { authorization: `Bearer ${API_KEY}` }, pid: undici.child.pid });
  if (peerUrl && peer) {
    list.push({
      name: 'peer',
      url: `${peerUrl}/v1/chat/completions`,
      headers: { authorization: 'Bearer sk-direct', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fakeUrl}/v1` },
      pid: peer.pid,
    });
  }
  return list;
}

/** The load generator process and a promise-based job API over its IPC channel. */
export class LoadGen {
  private constructor(private readonly proc: ChildProcess) {}

  static async start(root: string): Promise<LoadGen> {
    const proc = fork(join(root, 'bench/loadgen.ts'), [], { cwd: root, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      proc.once('message', () => resolve());
      proc.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    });
    return new LoadGen(proc);
  }

  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onMsg = (m: { type: string; result?: LoadResult; message?: string }) => {
        if (m.type !== 'result' && m.type !== 'error') return;
        this.proc.off('message', onMsg);
        this.proc.off('exit', onExit);
        if (m.type === 'result') resolve(m.result!);
        else reject(new Error(`load generator: ${m.message}`));
      };
      const onExit = (code: number | null) => reject(new Error(`load generator exited (${code})`));
      this.proc.on('message', onMsg);
      this.proc.once('exit', onExit);
      this.proc.send({ type: 'run', job });
    });
  }

  /** Ends a `hold` job (its run() promise then resolves). */
  stop(): void {
    this.proc.send({ type: 'stop' });
  }

  close(): void {
    if (this.proc.connected) this.proc.disconnect();
    this.proc.kill('SIGTERM');
  }
}
