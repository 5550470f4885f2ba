/**
 * Is the soak's RSS growth a leak? Starts the fake grok.com and the proxy (compiled to a private
 * outDir, so the shared dist/ is untouched) with --expose-gc and bench/heap-probe.cjs, fires the
 * soak's request mix (alternating JSON and SSE, 64 connections) and records "heap used after a
 * forced full GC" after a warm-up, after N and after 3N requests. A leak grows with the request
 * count; V8 headroom does not. LEAK_SNAPSHOT=1 also writes heap snapshots at N and 3N (diff them
 * with `npx tsx bench/heap-diff.ts A B`).
 *
 * LEAK_IDLE_SEC=T samples RSS for T s of idleness after 3N, before
 * the forced GC. LEAK_ABORT_STREAMS=S then opens S long streams whose clients vanish, once and three times.
 * LEAK_OPEN_STREAMS=S measures what an open stream holds: heap after GC with S long streams open
 * (the bench's hold phase) against the same figure just before.
 *
 *   npx tsx bench/leak-check.ts   # LEAK_N=10000 LEAK_WARMUP=3000 LEAK_SNAPSHOT=0 LEAK_ABORT_STREAMS=0
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { killAll, rssKb } from './procs.js';
import { LoadGen, startFake, startProxy, targets } from './stack.js';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const env = process.env;
const N = Number(env.LEAK_N ?? 10_000);
const WARMUP = Number(env.LEAK_WARMUP ?? 3_000);
const snapshot = env.LEAK_SNAPSHOT === '1';
const ABORT_STREAMS = Number(env.LEAK_ABORT_STREAMS ?? 0);
const IDLE_SEC = Number(env.LEAK_IDLE_SEC ?? 0);
const OPEN_STREAMS = Number(env.LEAK_OPEN_STREAMS ?? 0);
const body = (stream: boolean) => JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'Say hello in a few words.' }], stream });

interface Probe {
  /** Before the forced GCs: what the soak's RSS figures see. */
  before: { mem: NodeJS.MemoryUsage; spaces: Record<string, { size: number; used: number }> };
  mem: NodeJS.MemoryUsage;
  spaces: Record<string, { size: number; used: number }>;
  snapshot: string | null;
}

async function probe(pid: number, dir: string, id: number): Promise<Probe> {
  process.kill(pid, 'SIGUSR2');
  const file = join(dir, `probe-${id}.json`);
  const deadline = Date.now() + 120_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`no ${file} within 120 s`);
    await sleep(100);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Probe;
}

const mib = (b: number) => (b / 1048576).toFixed(1);

async function main(): Promise<void> {
  const tmp = join(root, 'bench/results/tmp/leak-check');
  rmSync(tmp, { recursive: true, force: true });
  const probeDir = join(tmp, 'probe');
  mkdirSync(probeDir, { recursive: true });
  const outDir = join(tmp, 'dist');
  // Errors in files under someone else's edit must not stop us: tsc still emits (noEmitOnError is off).
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root, stdio: 'inherit' });
  // The config loader and the admin UI look a few directories up from their modules: put them there.
  copyFileSync(join(root, 'config.defaults.toml'), join(outDir, 'config.defaults.toml'));
  symlinkSync(join(root, 'admin-ui'), join(outDir, 'admin-ui'));

  const fake = await startFake(root, tmp);
  const proxy = await startProxy({
    root,
    dataDir: join(tmp, 'data'),
    fakeUrl: fake.tlsUrl,
    caFile: fake.caFile,
    accounts: Number(env.BENCH_ACCOUNTS ?? 16),
    profileDir: null,
    entry: join(outDir, 'src/server.js'),
    nodeArgs: ['--expose-gc', '--require', join(root, 'bench/heap-probe.cjs')],
    env: { HEAP_PROBE_DIR: probeDir },
  });
  const lg = await LoadGen.start(root);
  const t = targets(fake, { proxy }).find((x) => x.name === 'proxy')!;
  const fire = async (amount: number) => {
    const r = await lg.run({ url: t.url, headers: t.headers, bodies: [body(false), body(true)], connections: 64, amount, expect: ['"finish_reason":"stop"', 'data: [DONE]'], timeoutSec: 30 });
    if (r.ok !== amount) process.stderr.write(`  WARNING: ${r.ok}/${amount} ok (non2xx ${r.non2xx}, errors ${r.errors}, mismatches ${r.mismatches})\n`);
    return r;
  };
  const configure = async (tokens: number, delayMs: number) => {
    const res = await fetch(`${fake.url}/__bench/config`, { method: 'PUT', body: JSON.stringify({ tokens, delayMs }) });
    if (res.status !== 200) throw new Error(`fake: bench config refused: ${await res.text()}`);
  };
  const fakeOpen = async () => ((await (await fetch(`${fake.url}/__bench/state`)).json()) as { open: number }).open;
  const abortRound = async () => {
    const done = lg.run({ url: t.url, headers: t.headers, bodies: [body(true)], connections: ABORT_STREAMS, expect: ['data: [DONE]'], timeoutSec: 300, durationSec: 300, hold: true });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await fakeOpen()) < ABORT_STREAMS) await sleep(200);
    lg.stop();
    await done;
    const t0 = Date.now();
    while ((await fakeOpen()) > 0 && Date.now() - t0 < 30_000) await sleep(100);
  };
  const rows: string[] = [];
  let id = 0;
  const record = async (label: string, requests: number, snap: boolean) => {
    await sleep(1500); // let keep-alive sockets and timers of the last responses settle
    if (snap) writeFileSync(join(probeDir, 'want-snapshot'), '');
    else rmSync(join(probeDir, 'want-snapshot'), { force: true });
    const rss = rssKb(proxy.child.pid) / 1024;
    const p = await probe(proxy.child.pid, probeDir, ++id);
    const b = p.before, old = p.spaces.old_space;
    const pre = `${mib(b.mem.heapUsed)} / ${mib(b.mem.heapTotal)} (old ${mib(b.spaces.old_space?.size ?? 0)}, new ${mib(b.spaces.new_space?.size ?? 0)})`;
    rows.push(`| ${label} | ${requests} | ${rss.toFixed(1)} | ${pre} | **${mib(p.mem.heapUsed)}** | ${mib(p.mem.heapTotal)} | ${mib(old?.used ?? 0)} / ${mib(old?.size ?? 0)} | ${mib(p.mem.external)} | ${(rssKb(proxy.child.pid) / 1024).toFixed(1)} | ${p.snapshot ?? ''} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  };
  try {
    await record('start', 0, false);
    await fire(WARMUP);
    await record('after warm-up', WARMUP, false);
    await fire(N);
    await record('N', WARMUP + N, snapshot);
    const r3 = await fire(2 * N);
    process.stderr.write(`  ${r3.rps.toFixed(0)} req/s\n`);
    // Without a forced GC: does V8 give the memory back on its own once the load stops?
    for (let s = 0; s < IDLE_SEC; s += 5) {
      process.stderr.write(`  idle ${s} s: RSS ${(rssKb(proxy.child.pid) / 1024).toFixed(1)} MiB\n`);
      await sleep(5000);
    }
    await record('3N', WARMUP + 3 * N, snapshot);
    if (OPEN_STREAMS > 0) {
      await configure(400, 50);
      await record('before open streams', WARMUP + 3 * N, snapshot);
      const done = lg.run({ url: t.url, headers: t.headers, bodies: [body(true)], connections: OPEN_STREAMS, expect: ['data: [DONE]'], timeoutSec: 300, durationSec: 300, hold: true });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await fakeOpen()) < OPEN_STREAMS) await sleep(200);
      await record(`${await fakeOpen()} streams open`, WARMUP + 3 * N, snapshot);
      lg.stop();
      await done;
      const t0 = Date.now();
      while ((await fakeOpen()) > 0 && Date.now() - t0 < 30_000) await sleep(100);
    }
    if (ABORT_STREAMS > 0) {
      // Clients that vanish mid-stream (the bench's hold phase): 1 round, then 2 more.
      await configure(400, 50);
      await abortRound();
      await record(`${ABORT_STREAMS} aborted streams`, WARMUP + 3 * N + ABORT_STREAMS, snapshot);
      await abortRound();
      await abortRound();
      await record(`${3 * ABORT_STREAMS} aborted streams`, WARMUP + 3 * N + 3 * ABORT_STREAMS, snapshot);
    }
  } finally {
    lg.close();
    await proxy.child.stop(10_000);
    await fake.child.stop();
    await killAll();
  }
  process.stdout.write(['', '| point | requests | RSS MiB | before GC: heap used / total MiB | after GC: heap used | heap total | old used / size | external | RSS after GC | snapshot |', '|---|---|---|---|---|---|---|---|---|---|', ...rows, ''].join('\n'));
}

main().catch(async (err: unknown) => {
  process.stderr.write(`leak-check: FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  await killAll();
  process.exit(1);
});
