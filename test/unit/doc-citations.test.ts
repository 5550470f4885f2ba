import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Comments (in src/ and test/) cite documents that ship with the repository: every
 * `docs/api-contract.md §n[.m]` in src/ names a section (`## n.`) and point (`m.` in that section) that exist, and no comment cites
 * the specs or notes the project was built from ("API.md §…", "DESIGN.md §…", "spec/…", "seeds/…"),
 * which users never get, and no § stands without its document. Every
 * `docs/upstream-grok.md §n[.m]` and `docs/upstream-identity.md §n` names a heading
 * (`## §n`, `### §n.m`) that exists.
 */
const ROOT = resolve(__dirname, '../..');
const SRC = join(ROOT, 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Section number → the point numbers listed in it (a section without a list has none). */
function contractSections(): Map<number, Set<number>> {
  const out = new Map<number, Set<number>>();
  let current: Set<number> | null = null;
  for (const line of readFileSync(join(ROOT, 'docs/api-contract.md'), 'utf8').split('\n')) {
    const h = /^## (\d+)\. /.exec(line);
    if (h) out.set(Number(h[1]), (current = new Set()));
    const p = /^(\d+)\. /.exec(line);
    if (p && current) current.add(Number(p[1]));
  }
  return out;
}

const files = sources(SRC);
/** src/ and test/ (tests and fakes cite the protocol too); not this file, whose patterns name what is refused. */
const everywhere = [...files, ...sources(join(ROOT, 'test')).filter((f) => f !== __filename)];

/** The `§n` / `§n.m` headings of a docs/ file written in that style. */
function headedSections(doc: string): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(join(ROOT, doc), 'utf8').split('\n')) {
    const h = /^#{2,3} §(\d+(?:\.\d+)?)\b/.exec(line);
    if (h) out.add(h[1]!);
  }
  return out;
}

describe('documents cited in src/ and test/', () => {
  it('every docs/api-contract.md citation names a section and point that exist', () => {
    const sections = contractSections();
    expect(sections.size).toBeGreaterThan(5);
    const cited: string[] = [];
    const missing: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/docs\/api-contract\.md((?:[\s*,–-]*§?\d+(?:\.\d+)?)+)/g)) {
        for (const n of m[1]!.matchAll(/(\d+)(?:\.(\d+))?/g)) {
          const ref = `${relative(SRC, f)}: §${n[0]}`;
          cited.push(ref);
          const points = sections.get(Number(n[1]));
          if (!points || (n[2] !== undefined && !points.has(Number(n[2])))) missing.push(ref);
        }
      }
    }
    expect(cited.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('every docs/upstream-grok.md and docs/upstream-identity.md citation names a section that exists', () => {
    const cited: string[] = [];
    const missing: string[] = [];
    for (const doc of ['docs/upstream-grok.md', 'docs/upstream-identity.md']) {
      const sections = headedSections(doc);
      expect(sections.size, doc).toBeGreaterThan(3);
      const pattern = new RegExp(`${doc.replace(/[./]/g, '\\$&')}((?:[\\s*,/–-]*(?:and )?§\\d+(?:\\.\\d+)?)+)`, 'g');
      for (const f of everywhere) {
        for (const m of readFileSync(f, 'utf8').matchAll(pattern)) {
          for (const n of m[1]!.matchAll(/§(\d+(?:\.\d+)?)/g)) {
            const ref = `${relative(ROOT, f)}: ${doc} §${n[1]}`;
            cited.push(ref);
            if (!sections.has(n[1]!)) missing.push(ref);
          }
        }
      }
    }
    expect(cited.length).toBeGreaterThan(20);
    expect(missing).toEqual([]);
  });

  it('no comment cites a document the repository does not have', () => {
    const bad = everywhere.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(ROOT, f)}:${i + 1}` }))
        .filter(({ line }) =>
          /API\.md|DESIGN\.md|spec\/|spec upstream-|upstream-(chat|drift|media-control)\.md|conformance\.md|design-research\.md|\/work\/shared|seeds\//.test(line),
        )
        .map(({ at }) => at),
    );
    expect(bad).toEqual([]);
    // Any other docs/*.md a comment names exists.
    const named = new Set(everywhere.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/docs\/[\w.-]+\.md/g)].map((m) => m[0])));
    for (const d of named) expect(existsSync(join(ROOT, d)), d).toBe(true);
  });

  it('every § names its document (docs/*.md or an RFC), so a reader knows where to look', () => {
    // Strip each citation chain that starts with a document ("docs/x.md §4.2, §4.3 and §10.1",
    // "RFC 9110 §10.2.3", also across a comment's line break); any § left has no document.
    const chain = /(?:docs\/[\w.-]+\.md|RFC \d+),?(?:[\s*,/–(-]*(?:and |or )?§?\d+(?:\.\d+)*)+/g;
    const bare = everywhere.flatMap((f) =>
      readFileSync(f, 'utf8')
        .replace(chain, (m) => m.replace(/§/g, ''))
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(ROOT, f)}:${i + 1}` }))
        .filter(({ line }) => line.includes('§'))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(bare).toEqual([]);
  });
});
