/**
 * Starts the benchmark's processes, each on its own: the fake grok.com in benchmark mode, the
 * proxy (the compiled dist/ build, as deployed), the peer gateway and the load generator.
 * Everything listens on 127.0.0.1 only.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { makeTestCertificate } from '../test/helpers/test-certificate.js';
import { join } from 'node:path';
import type { LoadJob, LoadResult } from './loadgen.js';
import { freePort, startChild, waitHttp, type Child } from './procs.js';

export const API_KEY = 'sk-bench-client';
export const ADMIN_KEY = 'bench-admin-key';

export type TargetName = 'direct' | 'proxy' | 'proxy-ws' | 'proxy-undici' | 'proxy-xai' | 'peer';

export interface Target {
  name: TargetName;
  url: string;
  headers: Record<string, string>;
  /** The model asked for (`grok-3` on grok.com, `xai/grok-3` through an xAI key). */
  model: string;
  /** The server process whose CPU and memory this target's figures are about. */
  pid: number;
}

export interface Fake {
  child: Child;
  /** Plain HTTP: the control API and the "direct" floor. */
  url: string;
  /** HTTPS (h2 and http/1.1 by ALPN) with the same endpoints: the upstream every proxied target talks to. */
  tlsUrl: string;
  /** The CA that signed its certificate (PEM file): GROK_CA_FILE / NODE_EXTRA_CA_CERTS of the servers under test. */
  caFile: string;
}

/**
 * The fake grok.com in benchmark mode, on plain HTTP and on HTTPS with a certificate made now by
 * a throw-away CA (test/helpers/test-certificate.ts, `openssl`), so the proxies pay for TLS to
 * their upstream as they do in production.
 */
export async function startFake(root: string, tmp: string): Promise<Fake> {
  const cert = makeTestCertificate();
  const caFile = join(tmp, 'bench-ca.pem');
  const keyFile = join(tmp, 'fake.key');
  const certFile = join(tmp, 'fake.pem');
  mkdirSync(tmp, { recursive: true });
  writeFileSync(caFile, readFileSync(cert.caFile));
  writeFileSync(keyFile, cert.key, { mode: 0o600 });
  writeFileSync(certFile, cert.cert);
  cert.remove();
  const port = await freePort();
  const child = startChild('fake-grok', process.execPath, ['--import', 'tsx', 'test/fake-grok/cli.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', FAKE_BENCH: '1', FAKE_TLS_KEY_FILE: keyFile, FAKE_TLS_CERT_FILE: certFile },
  });
  const m = await child.waitForLine(/grok\.com listening on (http:\/\/\S+)/, 30_000);
  const t = await child.waitForLine(/TLS listening on (https:\/\/\S+)/, 30_000);
  return { child, url: m[1]!, tlsUrl: t[1]!, caFile };
}

export interface ProxyOptions {
  root: string;
  dataDir: string;
  /** The fake's HTTPS URL (grok.com and the xAI API both point there). */
  fakeUrl: string;
  /** Trusted by the proxy for that URL: GROK_CA_FILE (wreq, undici) and NODE_EXTRA_CA_CERTS (the xAI client). */
  caFile: string;
  accounts: number;
  /** Also import one xAI key (the pass-through scenario, model xai/grok-3). */
  xaiKey?: boolean;
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
      GROK_CA_FILE: o.caFile,
      NODE_EXTRA_CA_CERTS: o.caFile,
      XAI_BASE_URL: `${o.fakeUrl}/v1`,
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
  if (o.xaiKey) {
    const x = await fetch(`${url}/admin/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'xai', tokens: 'xai-bench-key' }),
    });
    if (x.status !== 200) throw new Error(`proxy: xAI key import failed: ${x.status} ${await x.text()}`);
  }
  return { child, url };
}

/** The peer gateway; `caFile` lets it trust the fake's HTTPS endpoint (NODE_EXTRA_CA_CERTS). */
export async function startPeer(root: string, caFile: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startChild('peer', process.execPath, ['bench/peer.mjs', `--port=${port}`, '--headless'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', NODE_EXTRA_CA_CERTS: caFile },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/`, 30_000, child);
  return { child, url };
}

/**
 * - `direct`: the fake's OpenAI endpoint over plain HTTP, the floor;
 * - `proxy`: the production build, grok.com (REST) through the Chrome-impersonating client, TLS;
 * - `proxy-ws`: the same over the mgw WebSocket gateway (`grok.chat_transport = "ws"`);
 * - `proxy-undici`: REST with GROK_HTTP_CLIENT=undici, so the client's own cost shows side by side;
 * - `proxy-xai`: the `proxy` process asked for `xai/grok-3`, served by an xAI key whose API is the
 *   fake's OpenAI endpoint over TLS;
 * - `peer`: Portkey in front of that same OpenAI endpoint over TLS, like for like with `proxy-xai`.
 */
export function targets(fake: Fake, servers: Partial<Record<'proxy' | 'proxy-ws' | 'proxy-undici' | 'peer', { url: string; child: Child }>>): Target[] {
  const list: Target[] = [{ name: 'direct', url: `${fake.url}/v1/chat/completions`, headers: { authorization: 'Bearer sk-direct' }, model: 'grok-3', pid: fake.child.pid }];
  const proxied = (name: TargetName, s: { url: string; child: Child } | undefined, model = 'grok-3') => {
    if (s) list.push({ name, url: `${s.url}/v1/chat/completions`, headers: { authorization: `Bearer ${API_KEY}` }, model, pid: s.child.pid });
  };
  proxied('proxy', servers.proxy);
  proxied('proxy-ws', servers['proxy-ws']);
  proxied('proxy-undici', servers['proxy-undici']);
  proxied('proxy-xai', servers.proxy, 'xai/grok-3');
  const peer = servers.peer;
  if (peer) {
    list.push({
      name: 'peer',
      url: `${peer.url}/v1/chat/completions`,
      headers: { authorization: 'Bearer sk-direct', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${fake.tlsUrl}/v1` },
      model: 'grok-3',
      pid: peer.child.pid,
    });
  }
  return list;
}

/** The load generator process and a promise-based job API over its IPC channel. */
export class LoadGen {
  private constructor(private readonly proc: ChildProcess) {}

  get pid(): number {
    return this.proc.pid ?? 0;
  }

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
