/**
 * Memory and speed of the o200k_base tokenizer engines, each in a fresh process:
 *   node --expose-gc --import tsx bench/tokenizer-mem.ts tiktoken   (js-tiktoken's Tiktoken)
 *   node --expose-gc --import tsx bench/tokenizer-mem.ts bpe        (src/lib/bpe.ts)
 * Prints RSS/heap before and after loading the table (after a GC) and after one encode, the load's
 * wall and CPU time, and encode throughput on a ~10 KB mixed text.
 */
const mode = process.argv[2] ?? 'bpe';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const mib = (n: number) => (n / 2 ** 20).toFixed(1);

function snapshot() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, ext: m.external }; // external already counts arrayBuffers
}

function sample(): string {
  const parts = [
    'The quick brown fox jumps over the lazy dog. ',
    "It's 2024-05-13, and we've shipped v1.2.3 (build #4567) — finally!\n",
    'function add(a: number, b: number): number {\n    return a + b;\n}\n',
    '東京は日本の首都です。人口は約1400万人。',
    'مرحبا بالعالم، هذا نص تجريبي.',
    'Emoji 🎉👍🏽 and symbols ∑∫√ ≠ ±\t\t  \n\n',
  ];
  let s = '';
  for (let i = 0; s.length < 10_000; i++) s += parts[i % parts.length];
  return s.slice(0, 10_000);
}

interface Engine {
  encode(text: string): number[];
}

/** Imports the engine's code (not timed), and returns the step that loads its table (timed). */
async function engineLoader(): Promise<() => Promise<Engine>> {
  if (mode === 'tiktoken') {
    const { Tiktoken } = await import('js-tiktoken/lite');
    return async () => new Tiktoken((await import('js-tiktoken/ranks/o200k_base')).default);
  }
  const { loadO200kBase } = await import('../src/lib/bpe.js');
  return loadO200kBase;
}

async function main() {
  const text = sample();
  const load = await engineLoader();
  const before = snapshot();
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const engine = await load();
  const c1 = process.cpuUsage(c0);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const loaded = snapshot();
  const ids = engine.encode(text);
  const encoded = snapshot();

  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) engine.encode(text);
  let ops = 0;
  const t1 = performance.now();
  while (performance.now() - t1 < 2000) (engine.encode(text), ops++);
  const opsPerSec = ops / ((performance.now() - t1) / 1000);

  console.log(
    JSON.stringify({
      mode,
      tokens: ids.length,
      textChars: text.length,
      loadWallMs: Math.round(loadMs),
      loadCpuMs: Math.round((c1.user + c1.system) / 1000),
      rssMiB: { before: mib(before.rss), loaded: mib(loaded.rss), afterEncode: mib(encoded.rss), delta: mib(encoded.rss - before.rss) },
      heapMiB: { before: mib(before.heap), loaded: mib(loaded.heap), delta: mib(encoded.heap - before.heap) },
      externalMiB: { delta: mib(encoded.ext - before.ext) },
      encode10kOpsPerSec: Math.round(opsPerSec),
    }),
  );
}

await main();
