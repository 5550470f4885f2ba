/**
 * Compares two V8 heap snapshots (from bench/leak-check.ts with LEAK_SNAPSHOT=1) by object count
 * and self size per constructor / node type: what grew between them is what accumulates.
 *
 *   npx tsx bench/heap-diff.ts A.heapsnapshot B.heapsnapshot [top=30]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

type Counts = Map<string, { count: number; size: number }>;

function count(file: string): Counts {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const iType = fields.indexOf('type'), iName = fields.indexOf('name'), iSize = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out: Counts = new Map();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    // Strings and code are keyed by type only: their "names" are their contents.
    const key = type === 'object' || type === 'closure' || type === 'native' ? `${type}:${s.strings[s.nodes[i + iName]!]}` : type;
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += s.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

const [a, b, topArg] = process.argv.slice(2);
if (!a || !b) {
  process.stderr.write('usage: heap-diff.ts A.heapsnapshot B.heapsnapshot [top]\n');
  process.exit(2);
}
const ca = count(a), cb = count(b);
const rows = [...new Set([...ca.keys(), ...cb.keys()])].map((k) => {
  const x = ca.get(k) ?? { count: 0, size: 0 }, y = cb.get(k) ?? { count: 0, size: 0 };
  return { k, count: y.count - x.count, size: y.size - x.size, total: y.count };
});
rows.sort((p, q) => Math.abs(q.size) - Math.abs(p.size));
const total = (c: Counts) => [...c.values()].reduce((s, e) => ({ count: s.count + e.count, size: s.size + e.size }), { count: 0, size: 0 });
const ta = total(ca), tb = total(cb);
process.stdout.write(`total: ${ta.count} → ${tb.count} objects, ${(ta.size / 1048576).toFixed(2)} → ${(tb.size / 1048576).toFixed(2)} MiB\n`);
process.stdout.write('| Δ self bytes | Δ count | count in B | constructor / type |\n|---:|---:|---:|---|\n');
for (const r of rows.slice(0, Number(topArg ?? 30))) process.stdout.write(`| ${r.size} | ${r.count} | ${r.total} | ${r.k} |\n`);
