/** Writes bench/results/<date>.md and .json and prints the tables. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, release, totalmem, type as osType } from 'node:os';
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

const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const kb = (v: number) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} MiB` : '–');

function tables(r: BenchResults, env: ReturnType<typeof environment>): string {
  const out: string[] = [];
  out.push(`# grok2api benchmark — ${env.date.slice(0, 16).replace('T', ' ')} UTC${r.scale.quick ? ' (quick run)' : ''}`, '');
  out.push(`Machine: ${env.cpu}, ${env.memoryGiB} GiB, ${env.os}; Node ${env.node}.`);
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
  out.push('| scenario | req/s proxy/direct | req/s proxy/peer | p50 proxy/direct | p50 proxy/peer | CPU/req proxy/peer |');
  out.push('|---|---:|---:|---:|---:|---:|');
  for (const s of [...new Set(r.runs.map((x) => x.scenario))]) {
    const get = (t: string) => r.runs.find((x) => x.scenario === s && x.target === t);
    const [d, p, q] = [get('direct'), get('proxy'), get('peer')];
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? f(a / b) : '–');
    out.push(`| ${s} | ${ratio(p?.rps, d?.rps)} | ${ratio(p?.rps, q?.rps)} | ${ratio(p?.latency.p50, d?.latency.p50)} | ${ratio(p?.latency.p50, q?.latency.p50)} | ${ratio(p?.cpuMsPerReq, q?.cpuMsPerReq)} |`);
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
    const h = r.holds.find((x) => x.target === name);
    const s = r.soaks.find((x) => x.target === name);
    out.push(
      `| ${name} | ${kb(r.restKb[name]!)} | ${h ? kb(h.idleKb) : '–'} | ${h ? kb(h.underKb) : '–'} | ${h ? `${h.open}/${h.streams}` : '–'} | ${h ? `${f(h.perStreamKb, 1)} KiB` : '–'} | ${h?.leftOpenAfterAbort ?? '–'} | ` +
        `${s ? f(s.rps, 0) : '–'} | ${s ? f(s.latency.p99) : '–'} | ${s ? kb(s.beforeKb) : '–'} | ${s ? kb(s.afterKb) : '–'} | ${s ? kb(s.settledKb) : '–'} | ${s ? `${kb(s.idleKb)} (${s.idleSec} s)` : '–'} | ${s ? kb(s.idleKb - s.beforeKb) : '–'} |`,
    );
  }
  out.push('', '## Goals (proxy)', '');
  const c1 = r.runs.find((x) => x.target === 'proxy' && !x.stream && x.connections === 1);
  const d1 = c1 && direct.get(c1.scenario);
  const s1 = r.runs.find((x) => x.target === 'proxy' && x.stream && x.connections === 1);
  const ds1 = s1 && direct.get(s1.scenario);
  const h = r.holds.find((x) => x.target === 'proxy');
  const s = r.soaks.find((x) => x.target === 'proxy');
  const goal = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : '**not met**');
  const addedP50 = c1 && d1 ? c1.latency.p50 - d1.latency.p50 : NaN;
  const addedTtfb = s1 && ds1 ? s1.ttfb.p50 - ds1.ttfb.p50 : NaN;
  out.push('| goal | measured | |', '|---|---:|---|');
  out.push(`| added p50, non-streamed, c=1 ≤ 0.5 ms | ${f(addedP50)} ms | ${goal(c1 && addedP50 <= 0.5)} |`);
  out.push(`| added time to first streamed byte, p50, c=1 ≤ 1 ms | ${f(addedTtfb)} ms | ${goal(s1 && addedTtfb <= 1)} |`);
  out.push(`| RSS per open stream ≤ 50 KB | ${h ? f(h.perStreamKb, 1) : '–'} KiB | ${goal(h && h.perStreamKb * 1.024 <= 50)} |`);
  const growth = s ? s.idleKb - s.beforeKb : NaN;
  out.push(`| no RSS growth across the soak (≤ 5 %, RSS once idle ${s?.idleSec ?? '–'} s vs before) | ${s ? kb(growth) : '–'} | ${goal(s && growth <= s.beforeKb * 0.05)} |`);
  if (r.profile) out.push('', '## CPU profile of the proxy (whole run, --cpu-prof)', '', r.profile);
  return out.join('\n') + '\n';
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
