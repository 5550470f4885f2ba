/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per module, the
 * figures the hot-path work is judged by. Also usable alone: tsx bench/profile-summary.ts FILE.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  selfMs: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Sampled time the main thread was running JavaScript or V8 work (not `(idle)`). */
  busyMs: number;
  functions: ProfileEntry[];
  modules: ProfileEntry[];
  /** Functions by total (inclusive) time: `selfMs` holds the time with everything they called. */
  inclusive: ProfileEntry[];
}

/** `src/upstream/grok/frames.ts`, `node_modules/undici`, `node:internal/…`: where a frame's code lives. */
function moduleOf(url: string): string {
  if (!url) return '(native/V8)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return `node_modules/${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const src = u.search(/\/(dist\/)?src\//);
  if (src >= 0) return u.slice(src + 1).replace(/^dist\//, '');
  return u.startsWith('node:') ? u.split('/').slice(0, 2).join('/') : u;
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const fns = new Map<string, ProfileEntry>();
  const mods = new Map<string, ProfileEntry>();
  const add = (map: Map<string, ProfileEntry>, key: string, name: string, where: string, us: number) => {
    const e = map.get(key) ?? { name, where, selfMs: 0, pct: 0 };
    e.selfMs += us / 1000;
    map.set(key, e);
  };
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const mod = moduleOf(url);
    const where = url ? `${mod}:${lineNumber + 1}` : mod;
    add(fns, `${name}@${where}`, name, where, us);
    add(mods, mod, mod, '', us);
  }
  // Inclusive time: each sample counts once for every distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const mod = moduleOf(url);
    const where = url ? `${mod}:${lineNumber + 1}` : mod;
    return { key: `${functionName || '(anonymous)'}@${where}`, name: functionName || '(anonymous)', where };
  };
  const incl = new Map<string, ProfileEntry>();
  let idle = 0;
  for (const [id, us] of selfUs) {
    const leaf = byId.get(id);
    if (!leaf) continue;
    if (leaf.callFrame.functionName === '(idle)') idle += us;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (n.callFrame.functionName === '(root)') continue;
      const k = keyOf(n);
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      add(incl, k.key, k.name, k.where, us);
    }
  }
  const busy = total - idle;
  const rank = (m: Map<string, ProfileEntry>, of = total) =>
    [...m.values()]
      .map((e) => ({ ...e, pct: of ? (e.selfMs * 100000) / of : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, top);
  const inclusive = rank(new Map([...incl].filter(([, e]) => !['(idle)', '(program)', '(garbage collector)'].includes(e.name))), busy);
  return { totalMs: total / 1000, busyMs: busy / 1000, functions: rank(fns), modules: rank(mods), inclusive };
}

export function profileMarkdown(s: ProfileSummary): string {
  const row = (e: ProfileEntry) => `| ${e.pct.toFixed(1)} % | ${e.selfMs.toFixed(0)} | \`${e.name}\` | ${e.where} |`;
  return [
    `Sampled CPU time: ${(s.totalMs / 1000).toFixed(1)} s (includes idle; \`(idle)\` and \`(program)\` are V8's own buckets).`,
    '',
    '| self % | self ms | function | where |',
    '|---:|---:|---|---|',
    ...s.functions.map(row),
    '',
    '| self % | self ms | module |',
    '|---:|---:|---|',
    ...s.modules.map((e) => `| ${e.pct.toFixed(1)} % | ${e.selfMs.toFixed(0)} | ${e.name} |`),
    '',
    `Total (inclusive) time, as a share of the ${(s.busyMs / 1000).toFixed(1)} s the main thread was not idle:`,
    '',
    '| total % | total ms | function | where |',
    '|---:|---:|---|---|',
    ...s.inclusive.map(row),
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/profile-summary.ts FILE.cpuprofile');
    process.exit(2);
  }
  console.log(profileMarkdown(summarizeProfile(file, Number(process.argv[3] ?? 30))));
}
