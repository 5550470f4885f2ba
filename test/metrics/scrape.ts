/**
 * Scraping /metrics in tests. Every scrape is first checked by Prometheus' own text-format parser
 * and linter (`promtool check metrics`, from Debian's `prometheus` package); the figures are then
 * read from the sample lines it accepted.
 */
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Scrape {
  text: string;
  samples: Sample[];
  /** `# TYPE` per family. */
  types: Map<string, string>;
}

/** Runs promtool on the exposition; throws with its complaint when Prometheus would not accept it. */
export function promtoolCheck(text: string): void {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool is needed for the metrics tests (apt-get install prometheus): ${run.error.message}`);
  // 1: the parser refused it. 3: it parsed, and the linter has remarks: accepted only about
  // prom-client's Node.js runtime metrics (their names predate the naming rules), never ours.
  const remarks = `${run.stderr}${run.stdout}`.split('\n').filter((l) => l && !/^grok2api_nodejs_\S+ /.test(l));
  if (run.status !== 0 && (run.status !== 3 || remarks.length > 0)) throw new Error(`promtool check metrics failed (${run.status}): ${run.stderr}${run.stdout}`);
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Scrape {
  promtoolCheck(text);
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`unreadable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(LABEL)) labels[k!] = v!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { text, samples, types };
}

/** GET /metrics, checked and parsed. */
export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

/** The samples named `name` whose labels include `labels`. */
export function samples(s: Scrape, name: string, labels: Record<string, string> = {}): Sample[] {
  return s.samples.filter((m) => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
}

/** The sum of the matching samples' values. */
export function total(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return samples(s, name, labels).reduce((n, m) => n + m.value, 0);
}
