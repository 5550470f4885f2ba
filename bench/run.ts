/**
 * `npm run bench`: the proxy's added latency, throughput and memory, side by side with talking to
 * the upstream directly (the floor) and with @portkey-ai/gateway (the peer). See bench/README.md.
 * Scale: BENCH_QUICK=1 (about a minute) or the full run (within 10 minutes on 2 cores).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cpuMs, killAll, machineBusyMs, rssKb, treeCpuMs } from './procs.js';
import { printSummary, writeResults, type BenchResults, type HoldResult, type RunRecord, type SoakResult } from './report.js';
import { profileMarkdown, summarizeProfile } from './profile-summary.js';
import { LoadGen, startFake, startPeer, startProxy, targets, type Target } from './stack.js';
import { expectedAnswer, sanityCheck } from './sanity.js';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const env = process.env;
const quick = ['1', 'true', 'yes'].includes((env.BENCH_QUICK ?? '').toLowerCase());
const num = (name: string, full: number, q: number) => (env[name] !== undefined && env[name] !== '' ? Number(env[name]) : quick ? q : full);

export const scale = {
  quick,
  durationSec: num('BENCH_DURATION_SEC', 6, 2),
  warmupSec: num('BENCH_WARMUP_SEC', 1, 0.5),
  concurrency: (env.BENCH_CONCURRENCY ?? '1,64,512').split(',').map(Number),
  smallTokens: num('BENCH_SMALL_TOKENS', 20, 20),
  streamTokens: num('BENCH_STREAM_TOKENS', 200, 200),
  holdStreams: num('BENCH_HOLD_STREAMS', 1000, 200),
  /** Token interval of the held streams: slow enough that they are open and idle, not a throughput test. */
  holdDelayMs: num('BENCH_HOLD_DELAY_MS', 1000, 1000),
  soakRequests: num('BENCH_SOAK_REQUESTS', 100_000, 5_000),
  /** Idle time after a soak before its settled RSS is read: V8's memory reducer gives unused heap back after ~20 s of idleness. */
  settleSec: num('BENCH_SETTLE_SEC', 30, 5),
  accounts: num('BENCH_ACCOUNTS', 16, 16),
  peer: env.BENCH_PEER !== '0',
  /** Which targets and phases to run (for focused profiling): e.g. BENCH_TARGETS=proxy BENCH_PHASES=runs. */
  targets: (env.BENCH_TARGETS ?? 'direct,proxy,proxy-ws,proxy-undici,proxy-xai,peer').split(','),
  phases: (env.BENCH_PHASES ?? 'runs,hold,soak').split(','),
  /** Targets that soak (default: every target); a soak at a few hundred req/s is what makes a run long. */
  soakTargets: env.BENCH_SOAK_TARGETS ? env.BENCH_SOAK_TARGETS.split(',') : null,
  profile: ['1', 'true', 'yes'].includes((env.BENCH_PROFILE ?? '').toLowerCase()),
};

const body = (stream: boolean, model = 'grok-3') => JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello in a few words.' }], stream });
const EXPECT = { json: ['"finish_reason":"stop"'], sse: ['data: [DONE]'] };

async function configureFake(fakeUrl: string, tokens: number, delayMs: number): Promise<void> {
  const res = await fetch(`${fakeUrl}/__bench/config`, { method: 'PUT', body: JSON.stringify({ tokens, delayMs }) });
  if (res.status !== 200) throw new Error(`fake: bench config refused: ${await res.text()}`);
}

async function fakeOpen(fakeUrl: string): Promise<number> {
  return ((await (await fetch(`${fakeUrl}/__bench/state`)).json()) as { open: number }).open;
}

/**
 * Waits until no request reaches the fake for 500 ms and no stream is open: an overloaded server
 * may still be working off requests whose clients left, which must not leak into the next run.
 */
async function quiesce(fakeUrl: string, maxMs = 30_000): Promise<void> {
  const state = async () => (await (await fetch(`${fakeUrl}/__bench/state`)).json()) as { open: number; served: number };
  const deadline = Date.now() + maxMs;
  let last = await state();
  while (Date.now() < deadline) {
    await sleep(500);
    const now = await state();
    if (now.served === last.served && now.open === 0) return;
    last = now;
  }
  process.stderr.write(`bench: WARNING: the fake was still busy after ${maxMs} ms (open ${last.open})\n`);
}

/**
 * The proxy is compiled to bench/results/tmp/dist (not the shared dist/, which other work in the
 * tree may be rebuilding), with config.defaults.toml and the admin UI where the build looks for
 * them, as bench/leak-check.ts does. BENCH_NO_BUILD=1 reuses the last one.
 */
const outDir = join(root, 'bench/results/tmp/dist');
const entry = join(outDir, 'src/server.js');

function build(): void {
  if (env.BENCH_NO_BUILD === '1' && existsSync(entry)) return;
  process.stderr.write('bench: building the proxy (tsc -p tsconfig.build.json → bench/results/tmp/dist)…\n');
  rmSync(outDir, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    // tsc still emits on type errors; a half-finished change elsewhere in the tree should not block a benchmark.
    if (!existsSync(entry)) throw new Error(`build failed and ${entry} does not exist`);
    process.stderr.write('bench: WARNING: the build reported type errors; benchmarking what it emitted\n');
  }
  copyFileSync(join(root, 'config.defaults.toml'), join(outDir, 'config.defaults.toml'));
  symlinkSync(join(root, 'admin-ui'), join(outDir, 'admin-ui'));
}

async function measure(lg: LoadGen, t: Target, scenario: string, stream: boolean, connections: number, fakeUrl: string): Promise<RunRecord> {
  await quiesce(fakeUrl);
  const job = { url: t.url, headers: t.headers, bodies: [body(stream, t.model)], connections, expect: stream ? EXPECT.sse : EXPECT.json, timeoutSec: 30 };
  if (scale.warmupSec > 0) await lg.run({ ...job, durationSec: scale.warmupSec });
  const cpu0 = cpuMs(t.pid);
  const r = await lg.run({ ...job, durationSec: scale.durationSec });
  const cpu = cpuMs(t.pid) - cpu0;
  const rec: RunRecord = { scenario, target: t.name, stream, connections, ...r, cpuMsPerReq: r.ok ? cpu / r.ok : NaN, rssKb: rssKb(t.pid) };
  const n = (v: number | null, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');
  process.stderr.write(
    `  ${scenario.padEnd(16)} ${t.name.padEnd(6)} ${n(r.rps, 0).padStart(6)} req/s  p50 ${n(r.latency.p50)} ms  p99 ${n(r.latency.p99)} ms` +
      `${stream ? `  ttfb p50 ${n(r.ttfb.p50)} ms` : ''}  cpu ${n(rec.cpuMsPerReq, 3)} ms/req` +
      `${r.errors + r.non2xx + r.mismatches ? `  ERRORS errors=${r.errors} non2xx=${r.non2xx} wrong-body=${r.mismatches}` : ''}\n`,
  );
  return rec;
}

/** N streams held open at once (long answers), RSS sampled once they all are. */
async function hold(lg: LoadGen, t: Target, fakeUrl: string, n: number): Promise<HoldResult> {
  const idleKb = rssKb(t.pid);
  const done = lg.run({ url: t.url, headers: t.headers, bodies: [body(true, t.model)], connections: n, expect: EXPECT.sse, timeoutSec: 300, durationSec: 300, hold: true });
  const deadline = Date.now() + 30_000;
  let open = 0;
  while (Date.now() < deadline && (open = await fakeOpen(fakeUrl)) < n) await sleep(200);
  await sleep(1000); // let in-flight buffers settle
  open = await fakeOpen(fakeUrl);
  const underKb = rssKb(t.pid);
  lg.stop();
  const r = await done;
  // Every upstream stream must end once its client went away.
  const t0 = Date.now();
  while ((await fakeOpen(fakeUrl)) > 0 && Date.now() - t0 < 10_000) await sleep(100);
  const leftOpen = await fakeOpen(fakeUrl);
  // A server that does not pass the abort on keeps pulling its streams; let them end before the next target.
  while ((await fakeOpen(fakeUrl)) > 0 && Date.now() - t0 < 30_000) await sleep(200);
  process.stderr.write(`  hold ${t.name.padEnd(6)} ${open}/${n} open, RSS ${idleKb} → ${underKb} KiB (${((underKb - idleKb) / Math.max(1, open)).toFixed(1)} KiB/stream), left open after abort: ${leftOpen}\n`);
  return { target: t.name, streams: n, open, idleKb, underKb, perStreamKb: (underKb - idleKb) / Math.max(1, open), leftOpenAfterAbort: leftOpen, ttfb: r.ttfb };
}

async function soak(lg: LoadGen, t: Target, n: number): Promise<SoakResult & { endedAt: number }> {
  const beforeKb = rssKb(t.pid);
  const cpu0 = cpuMs(t.pid);
  const r = await lg.run({ url: t.url, headers: t.headers, bodies: [body(false, t.model), body(true, t.model)], connections: 64, amount: n, expect: [...EXPECT.json, ...EXPECT.sse], timeoutSec: 30 });
  const cpu = cpuMs(t.pid) - cpu0;
  const endedAt = Date.now();
  const afterKb = rssKb(t.pid);
  await sleep(2000);
  const settledKb = rssKb(t.pid);
  process.stderr.write(`  soak ${t.name.padEnd(6)} ${r.ok}/${n} ok, ${r.rps.toFixed(0)} req/s, RSS ${beforeKb} → ${afterKb} → ${settledKb} KiB (2 s later)\n`);
  return { target: t.name, requests: n, ...r, cpuMsPerReq: r.ok ? cpu / r.ok : NaN, beforeKb, afterKb, settledKb, idleKb: NaN, idleSec: scale.settleSec, endedAt };
}

/**
 * RSS of each soaked server once it has been idle for `settleSec` (while the next target soaks:
 * it does not touch this one). This, not the figure right after the load, tells retained memory
 * from heap V8 keeps around until its memory reducer runs.
 */
async function settle(soaks: (SoakResult & { endedAt: number })[], list: Target[]): Promise<void> {
  for (const s of soaks) {
    const t = list.find((x) => x.name === s.target)!;
    const wait = s.endedAt + scale.settleSec * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    s.idleKb = rssKb(t.pid);
    process.stderr.write(`  soak ${t.name.padEnd(6)} RSS after ${scale.settleSec} s idle: ${s.idleKb} KiB\n`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  build();
  const stamp = new Date().toISOString().replace(/[:T]/g, '-').slice(0, 16);
  const tmp = join(root, 'bench/results/tmp', stamp);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const profileDir = scale.profile ? join(tmp, 'profile') : null;

  process.stderr.write(`bench: starting the fake grok.com (HTTP + HTTPS), the proxies${scale.peer ? ', the peer' : ''} and the load generator…\n`);
  const fake = await startFake(root, tmp);
  const want = (name: string) => scale.targets.includes(name);
  const prof = (name: string) => (profileDir ? join(profileDir, name) : null);
  const base = { root, entry, fakeUrl: fake.tlsUrl, caFile: fake.caFile, accounts: scale.accounts };
  const servers: Parameters<typeof targets>[1] = {};
  if (want('proxy') || want('proxy-xai')) servers.proxy = await startProxy({ ...base, dataDir: join(tmp, 'data'), profileDir: prof('proxy'), xaiKey: want('proxy-xai') });
  if (want('proxy-ws')) servers['proxy-ws'] = await startProxy({ ...base, dataDir: join(tmp, 'data-ws'), profileDir: prof('proxy-ws'), env: { GROK_CHAT_TRANSPORT: 'ws' } });
  if (want('proxy-undici')) servers['proxy-undici'] = await startProxy({ ...base, dataDir: join(tmp, 'data-undici'), profileDir: null, env: { GROK_HTTP_CLIENT: 'undici' } });
  if (scale.peer && want('peer')) servers.peer = await startPeer(root, fake.caFile);
  const lg = await LoadGen.start(root);
  const list = targets(fake, servers).filter((t) => want(t.name));
  await sleep(1000);
  // How much of the machine other work took while we measured (the box is shared).
  const ours = () => [process.pid, lg.pid, fake.child.pid, ...Object.values(servers).map((x) => x.child.pid)];
  const busy0 = machineBusyMs();
  const ours0 = treeCpuMs(ours());
  const wall0 = Date.now();
  let loadNote: string | undefined;
  const restKb = Object.fromEntries(list.map((t) => [t.name, rssKb(t.pid)]));

  const runs: RunRecord[] = [];
  const holds: HoldResult[] = [];
  const soaks: (SoakResult & { endedAt: number })[] = [];
  try {
    for (const [stream, tokens] of scale.phases.includes('runs') ? ([[false, scale.smallTokens], [true, scale.streamTokens]] as const) : []) {
      await configureFake(fake.url, tokens, 0);
      for (const t of list) await sanityCheck(t, stream, expectedAnswer(tokens));
      for (const c of scale.concurrency) {
        const scenario = `${stream ? `stream${tokens}` : `small${tokens}`}-c${c}`;
        for (const t of list) runs.push(await measure(lg, t, scenario, stream, c, fake.url));
      }
    }
    if (scale.phases.includes('hold')) {
      // Long, mostly idle answers (a token a second for a minute) so every stream is open while we
      // look: with a token every 50 ms, 1,000 streams over TLS were a throughput test on 2 cores
      // (20,000 tokens/s to relay), and only part of them opened within the 30 s allowed.
      await quiesce(fake.url);
      await configureFake(fake.url, Math.max(2, Math.ceil(60_000 / Math.max(1, scale.holdDelayMs))), scale.holdDelayMs);
      for (const t of list) holds.push(await hold(lg, t, fake.url, scale.holdStreams));
    }
    await configureFake(fake.url, scale.smallTokens, 0);
    if (scale.phases.includes('soak')) {
      for (const t of list) {
        if (scale.soakTargets && !scale.soakTargets.includes(t.name)) continue;
        await quiesce(fake.url);
        soaks.push(await soak(lg, t, scale.soakRequests));
      }
      await settle(soaks, list);
    }
    const other = machineBusyMs() - busy0 - (treeCpuMs(ours()) - ours0);
    const cores = other / (Date.now() - wall0);
    loadNote = `other processes kept ${cores.toFixed(2)} of ${cpus().length} cores busy on average while we measured`;
    process.stderr.write(`bench: ${loadNote}\n`);
  } finally {
    lg.close();
    // SIGTERM: the proxy drains and exits normally, which is when --cpu-prof writes its profile.
    for (const name of ['proxy', 'proxy-ws', 'proxy-undici'] as const) await servers[name]?.child.stop(10_000);
    await servers.peer?.child.stop();
    await fake.child.stop();
    await killAll();
  }

  // One profile per profiled server (proxy: REST and the xAI scenario; proxy-ws: the mgw transport).
  const profiles: { target: string; markdown: string; file: string }[] = [];
  for (const name of ['proxy', 'proxy-ws']) {
    const dir = prof(name);
    const file = dir && existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
    if (dir && file) profiles.push({ target: name, markdown: profileMarkdown(summarizeProfile(join(dir, file))), file: join(dir, file) });
  }
  const profile = profiles.length ? profiles.map((p) => `### ${p.target}\n\n${p.markdown}`).join('\n\n') : undefined;

  const results: BenchResults = { scale, restKb, runs, holds, soaks, profile, profileFile: profiles.map((p) => p.file).join(', ') || undefined, wallSec: (Date.now() - started) / 1000, loadNote };
  const files = writeResults(root, results);
  printSummary(results, files);
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  await killAll();
  process.exit(1);
});
