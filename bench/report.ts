/** Writes bench/results/<date>.md and .json and prints the tables. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, release, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from './loadgen.js';
import type { Summary } from './stats.js';

export interface RunRecord extends LoadResult {
  scenario: string;
  target: string;
  stream: boolean;
  connections: number;
  cpuMsPerReq: number;
  rssKb: number;
}
export interface HoldResult {
  target: string;
  streams: number;
  open: number;
  idleKb: number;
  underKb: number;
  perStreamKb: number;
  leftOpenAfterAbort: number;
  ttfb: Summary;
}
export interface SoakResult extends LoadResult {
  target: string;
  requests: number;
  cpuMsPerReq: number;
  beforeKb: number;
  afterKb: number;
  settledKb: number;
  /** RSS after `idleSec` of idleness following the soak. */
  idleKb: number;
  idleSec: number;
}
export interface BenchResults {
  scale: Record<string, unknown>;
  restKb: Record<string, number>;
  runs: RunRecord[];
  holds: HoldResult[];
  soaks: SoakResult[];
  profile?: string;
  profileFile?: string;
  wallSec: number;
  /** How busy the machine was with other work during the run. */
  loadNote?: string;
}

const require = createRequire(import.meta.url);
function version(pkg: string): string {
  try {
    const path = require.resolve(`${pkg}/package.json`);
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function environment(root: string) {
  return {
    date: new Date().toISOString(),
    cpu: `${cpus()[0]?.model ?? '?'} × ${cpus().length}`,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    os: `${osType()} ${release()}`,
    /** The machine is shared: its load at the end of the run (1, 5, 15 min). */
    loadAvg: loadavg().map((x) => +x.toFixed(2)),
    node: process.version,
    versions: {
      'grok2api-ts': (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
      fastify: version('fastify'),
      undici: version('undici'),
      autocannon: version('autocannon'),
      '@portkey-ai/gateway': version('@portkey-ai/gateway'),
      // bench/peer-hooks.mjs makes the gateway use the top-level copy (its exports hide package.json).
      '@hono/node-server (used by the gateway)': (JSON.parse(readFileSync(join(root, 'node_modules/@hono/node-server/package.json'), 'utf8')) as { version: string }).version,
    },
  };
}

const PROXIED = ['proxy', 'proxy-ws', 'proxy-undici', 'proxy-xai'] as const;
const LABEL: Record<string, string> = { proxy: 'REST (wreq, TLS)', 'proxy-ws': 'mgw WebSocket (wreq, TLS)', 'proxy-xai': 'xAI pass-through', 'proxy-undici': 'REST (undici fallback)' };

const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const kb = (v: number) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} MiB` : '–');

function tables(r: BenchResults, env: ReturnType<typeof environment>): string {
  const out: string[] = [];
  out.push(`# grok2api benchmark — ${env.date.slice(0, 16).replace('T', ' ')} UTC${r.scale.quick ? ' (quick run)' : ''}`, '');
  out.push(`Machine: ${env.cpu}, ${env.memoryGiB} GiB, ${env.os}; Node ${env.node}. Load average at the end (1/5/15 min): ${env.loadAvg.join(' / ')}${r.loadNote ? `; ${r.loadNote}` : ''}.`);
  out.push(`Versions: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  out.push(`Scale: ${JSON.stringify(r.scale)}. Wall time ${f(r.wallSec, 0)} s.`, '');
  out.push('## Latency and throughput', '');
  out.push('Latency = request sent → last byte; TTFB = request sent → first body byte; "added" = this target minus direct at the same percentile; CPU = user+system time of the server process per completed request (for direct: the fake itself).', '');
  out.push('| scenario | target | req/s | p50 ms | p99 ms | added p50 | added p99 | TTFB p50 | TTFB p99 | added TTFB p50 | CPU ms/req | errors |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const direct = new Map(r.runs.filter((x) => x.target === 'direct').map((x) => [x.scenario, x]));
  for (const x of r.runs) {
    const d = direct.get(x.scenario);
    const added = (a: number | null, b: number | null | undefined) => (x.target === 'direct' || typeof a !== 'number' || typeof b !== 'number' ? '' : f(a - b));
    const errs = x.errors + x.non2xx + x.mismatches;
    out.push(
      `| ${x.scenario} | ${x.target} | ${f(x.rps, 0)} | ${f(x.latency.p50)} | ${f(x.latency.p99)} | ${added(x.latency.p50, d?.latency.p50)} | ${added(x.latency.p99, d?.latency.p99)} | ` +
        `${x.stream ? f(x.ttfb.p50) : ''} | ${x.stream ? f(x.ttfb.p99) : ''} | ${x.stream ? added(x.ttfb.p50, d?.ttfb.p50) : ''} | ${f(x.cpuMsPerReq, 3)} | ${errs || ''} |`,
    );
  }
  out.push('', '## Ratios', '');
  out.push('Each proxied target against the floor (direct) and against Portkey (peer: the same OpenAI-shaped upstream over TLS). For `proxy-xai` the comparison with the peer is like for like (same upstream API, same bytes); `proxy` and `proxy-ws` also translate grok.com\'s own protocol.', '');
  out.push('| scenario | target | req/s ÷ direct | req/s ÷ peer | p50 ÷ direct | p50 ÷ peer | CPU/req ÷ peer |');
  out.push('|---|---|---:|---:|---:|---:|---:|');
  for (const s of [...new Set(r.runs.map((x) => x.scenario))]) {
    const get = (t: string) => r.runs.find((x) => x.scenario === s && x.target === t);
    const [d, q] = [get('direct'), get('peer')];
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? f(a / b) : '–');
    for (const name of PROXIED) {
      const p = get(name);
      if (p) out.push(`| ${s} | ${name} | ${ratio(p.rps, d?.rps)} | ${ratio(p.rps, q?.rps)} | ${ratio(p.latency.p50, d?.latency.p50)} | ${ratio(p.latency.p50, q?.latency.p50)} | ${ratio(p.cpuMsPerReq, q?.cpuMsPerReq)} |`);
    }
  }
  if (r.runs.some((x) => x.target === 'proxy-undici')) {
    // The grok.com client's own cost: the same build with Chrome's TLS (wreq-js) or Node's (undici).
    out.push('', '## grok.com client: wreq (Chrome fingerprint) vs undici', '');
    out.push('| scenario | p50 ms wreq · undici | added p50 wreq − undici | TTFB p50 wreq · undici | CPU ms/req wreq · undici | req/s wreq/undici |');
    out.push('|---|---:|---:|---:|---:|---:|');
    for (const s of [...new Set(r.runs.map((x) => x.scenario))]) {
      const w = r.runs.find((x) => x.scenario === s && x.target === 'proxy');
      const u = r.runs.find((x) => x.scenario === s && x.target === 'proxy-undici');
      if (!w || !u) continue;
      out.push(`| ${s} | ${f(w.latency.p50)} · ${f(u.latency.p50)} | ${f(w.latency.p50 - u.latency.p50)} | ${w.stream ? `${f(w.ttfb.p50)} · ${f(u.ttfb.p50)}` : ''} | ${f(w.cpuMsPerReq, 3)} · ${f(u.cpuMsPerReq, 3)} | ${u.rps > 0 ? f(w.rps / u.rps) : '–'} |`);
    }
  }
  out.push('', '## Memory', '');
  out.push('| target | RSS at rest | RSS idle before streams | RSS under open streams | streams open | per stream | left open after abort | soak req/s | soak p99 ms | RSS before soak | after soak | 2 s later | idle after soak | soak growth (idle − before) |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const name of Object.keys(r.restKb)) {
    let h = r.holds.find((x) => x.target === name);
    // proxy-xai runs in the proxy's process, right after that process's own hold: its RSS is still
    // moving from the previous phase, so a per-stream figure would mean nothing.
    if (name === 'proxy-xai' && r.holds.some((x) => x.target === 'proxy')) h = h && { ...h, perStreamKb: NaN, underKb: NaN, idleKb: NaN };
    const s = r.soaks.find((x) => x.target === name);
    out.push(
      `| ${name} | ${kb(r.restKb[name]!)} | ${h ? kb(h.idleKb) : '–'} | ${h ? kb(h.underKb) : '–'} | ${h ? `${h.open}/${h.streams}` : '–'} | ${h ? `${f(h.perStreamKb, 1)} KiB` : '–'} | ${h?.leftOpenAfterAbort ?? '–'} | ` +
        `${s ? f(s.rps, 0) : '–'} | ${s ? f(s.latency.p99) : '–'} | ${s ? kb(s.beforeKb) : '–'} | ${s ? kb(s.afterKb) : '–'} | ${s ? kb(s.settledKb) : '–'} | ${s ? `${kb(s.idleKb)} (${s.idleSec} s)` : '–'} | ${s ? kb(s.idleKb - s.beforeKb) : '–'} |`,
    );
  }
  out.push(...goals(r, direct));
  if (r.profile) out.push('', '## CPU profile of the proxy (whole run, --cpu-prof)', '', r.profile);
  return out.join('\n') + '\n';
}

/**
 * Issue 18's goals, each on the production client (wreq over TLS) for the REST and the mgw
 * transport, and the xAI pass-through where it applies. CPU per request is read at c=64 (the
 * throughput runs, where fixed per-run costs vanish); latency at c=1.
 */
function goals(r: BenchResults, direct: Map<string, RunRecord>): string[] {
  const out: string[] = ['', '## Goals (issue 18)', ''];
  const goal = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : '**not met**');
  const run = (t: string, stream: boolean, c: number) => r.runs.find((x) => x.target === t && x.stream === stream && x.connections === c);
  const row = (what: string, target: string, measured: string, ok: boolean | undefined) => out.push(`| ${what} | ${LABEL[target] ?? target} | ${measured} | ${goal(ok)} |`);
  out.push('| goal | path | measured | |', '|---|---|---:|---|');
  const present = (t: string) => r.runs.some((x) => x.target === t) || r.holds.some((x) => x.target === t) || r.soaks.some((x) => x.target === t);
  const grok = (['proxy', 'proxy-ws'] as const).filter(present);
  for (const t of grok) {
    const x = run(t, false, 64);
    row('CPU per request ≤ 0.20 ms, non-streamed (20 tokens, c=64)', t, x ? `${f(x.cpuMsPerReq, 3)} ms` : '–', x && x.cpuMsPerReq <= 0.2);
  }
  for (const t of grok) {
    const x = run(t, true, 64);
    row('CPU per request ≤ 0.70 ms, 200-token stream (c=64)', t, x ? `${f(x.cpuMsPerReq, 3)} ms` : '–', x && x.cpuMsPerReq <= 0.7);
  }
  for (const t of grok) {
    const x = run(t, false, 1);
    const d = x && direct.get(x.scenario);
    const v = x && d ? x.latency.p50 - d.latency.p50 : NaN;
    row('added p50 ≤ 0.30 ms, non-streamed, c=1', t, `${f(v)} ms`, x && d ? v <= 0.3 : undefined);
  }
  for (const t of grok) {
    const x = run(t, true, 1);
    const d = x && direct.get(x.scenario);
    const v = x && d ? x.ttfb.p50 - d.ttfb.p50 : NaN;
    row('first streamed byte ≤ 0.5 ms after the upstream\'s (TTFB p50 − direct, c=1)', t, `${f(v)} ms`, x && d ? v <= 0.5 : undefined);
  }
  for (const t of [...grok, ...(['proxy-xai'] as const).filter(present)]) {
    for (const stream of [false, true]) {
      const x = run(t, stream, 64);
      const q = run('peer', stream, 64);
      const v = x && q && q.rps > 0 ? x.rps / q.rps : NaN;
      row(`≥ 3× Portkey's req/s at c=64, ${stream ? 'stream200' : 'small20'}`, t, `${f(v)}× (${x ? f(x.rps, 0) : '–'} vs ${q ? f(q.rps, 0) : '–'})`, x && q ? v >= 3 : undefined);
    }
  }
  for (const t of grok) {
    const h = r.holds.find((x) => x.target === t);
    row('RSS ≤ 32 KiB per open idle stream', t, h ? `${f(h.perStreamKb, 1)} KiB (${h.open}/${h.streams} open)` : '–', h ? h.perStreamKb <= 32 && h.open === h.streams : undefined);
  }
  for (const t of grok) {
    const s = r.soaks.find((x) => x.target === t);
    const growth = s ? s.idleKb - s.beforeKb : NaN;
    row(`flat RSS over the soak (idle ${s?.idleSec ?? '–'} s after vs before, ≤ 5 %; ${s ? s.requests : '–'} requests)`, t, s ? `${kb(growth)} (${f((growth / s.beforeKb) * 100, 1)} %)` : '–', s ? growth <= s.beforeKb * 0.05 : undefined);
  }
  const tls = r.runs.some((x) => x.target === 'proxy');
  row('the benchmark includes TLS to the upstream, production client', 'proxy', tls ? 'wreq-js → https fake (h2), CA via GROK_CA_FILE' : '–', tls || undefined);
  return out;
}

export function writeResults(root: string, r: BenchResults): { md: string; json: string; text: string } {
  const env = environment(root);
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const name = `${env.date.slice(0, 16).replace(/[:T]/g, '-')}${r.scale.quick ? '-quick' : ''}`;
  const text = tables(r, env);
  const md = join(dir, `${name}.md`);
  const json = join(dir, `${name}.json`);
  writeFileSync(md, text);
  writeFileSync(json, JSON.stringify({ environment: env, ...r }, null, 2) + '\n');
  return { md, json, text };
}

export function printSummary(_r: BenchResults, files: { md: string; json: string; text: string }): void {
  process.stdout.write('\n' + files.text + `\nWritten: ${files.md}\n         ${files.json}\n`);
}
