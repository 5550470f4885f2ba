/**
 * Bench-side preload for the proxy (`node --expose-gc --require bench/heap-probe.cjs …`), used by
 * bench/leak-check.ts only; the product never loads it. On SIGUSR2 it forces full GCs, then
 * writes the heap figures (and, while HEAP_PROBE_DIR/want-snapshot exists, a heap snapshot) to HEAP_PROBE_DIR as
 * probe-<n>.json, so the launcher can compare "heap used after GC" across request counts.
 */
'use strict';
const { existsSync, writeFileSync, renameSync } = require('node:fs');
const { join } = require('node:path');
const v8 = require('node:v8');

const dir = process.env.HEAP_PROBE_DIR;
let n = 0;
const spaceStats = () => Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
if (dir && typeof global.gc === 'function') {
  process.on('SIGUSR2', () => {
    const id = ++n;
    const before = { mem: process.memoryUsage(), spaces: spaceStats() };
    // Several passes with turns of the event loop in between: FinalizationRegistry callbacks
    // and WeakRef clearing need a task boundary before their targets are really gone.
    let pass = 0;
    const step = () => {
      global.gc();
      if (++pass < 4) return setTimeout(step, 50);
      const mem = process.memoryUsage();
      const spaces = spaceStats();
      let snapshot = null;
      if (existsSync(join(dir, 'want-snapshot'))) snapshot = v8.writeHeapSnapshot(join(dir, `probe-${id}.heapsnapshot`));
      const file = join(dir, `probe-${id}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify({ id, before, mem, spaces, heap: v8.getHeapStatistics(), snapshot }));
      renameSync(`${file}.tmp`, file);
    };
    step();
  });
}
