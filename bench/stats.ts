/** Exact percentiles over the kept samples (a 100,000-request soak is 800 KB of doubles). */
export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  const n = samples.length;
  if (n === 0) return { n: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const s = Float64Array.from(samples).sort();
  // Nearest-rank percentile.
  const at = (p: number) => s[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return { n, mean: sum / n, p50: at(50), p90: at(90), p99: at(99), max: s[n - 1]! };
}
