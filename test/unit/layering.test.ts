import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of docs/architecture.md, checked on the sources: no import circle anywhere in
 * src/ (type-only imports included: they still tie the files together), and the layers above the
 * upstreams (routes, media, tasks, pool) reach a provider only through src/upstream/types.ts and
 * the registry, never src/upstream/grok/.
 */
const SRC = resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static `import … from`, `export … from`, `import('…')`), resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f).filter((i) => files.includes(i))]));
const rel = (f: string) => relative(SRC, f);

describe('source layering', () => {
  it('has no import circle in src/', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const dep of graph.get(f) ?? []) {
        if (state.get(dep) === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep].map(rel).join(' → '));
        else if (!state.has(dep)) visit(dep);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('routes, media, tasks and pool import nothing from upstream/grok', () => {
    const above = files.filter((f) => /^(routes|media|tasks|pool)\//.test(rel(f)));
    const offending = above.flatMap((f) => (graph.get(f) ?? []).filter((d) => rel(d).startsWith('upstream/grok/')).map((d) => `${rel(f)} → ${rel(d)}`));
    expect(offending).toEqual([]);
  });
});
