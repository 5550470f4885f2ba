/**
 * docs/grafana-dashboard.json and the queries in docs/metrics.md: every PromQL expression parses
 * (promtool check rules, Prometheus' own parser) and names only metrics a scrape really has.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { scrape } from './scrape.js';

const docs = resolve(import.meta.dirname, '../../docs');
let stack: Stack;
afterEach(() => stack?.close());

function queries(): string[] {
  const dash = JSON.parse(readFileSync(join(docs, 'grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const fromDash = dash.panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$job', '.*')));
  const md = readFileSync(join(docs, 'metrics.md'), 'utf8');
  const block = /```promql\n([\s\S]*?)```/.exec(md)![1]!;
  return [...fromDash, ...block.split('\n').filter((l) => l.trim() && !l.startsWith('#'))];
}

it('has only queries Prometheus parses, over metrics the server exports', async () => {
  const exprs = queries();
  expect(exprs.length).toBeGreaterThan(10);
  const file = join(mkdtempSync(join(tmpdir(), 'g2a-promql-')), 'rules.yml');
  // JSON is YAML: one recording rule per query.
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'docs', rules: exprs.map((expr, i) => ({ record: `docs:q${i}`, expr })) }] }));
  const run = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
  if (run.error) throw new Error(`promtool is needed (apt-get install prometheus): ${run.error.message}`);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);

  stack = await startStack();
  const s = await scrape(stack.url);
  const exported = new Set(s.samples.map((m) => m.name));
  for (const [name] of s.types) exported.add(name);
  const named = new Set(exprs.flatMap((e) => e.match(/grok2api_[a-z_]+/g) ?? []));
  // A histogram without observations yet has only its # TYPE line: match _bucket/_sum/_count to it.
  for (const name of named) expect(exported.has(name) || exported.has(name.replace(/_(bucket|sum|count)$/, '')), name).toBe(true);
});
