/**
 * Where reliability tests leave their figures for `npm run reliability` (scripts/reliability.ts):
 * one JSON file per suite in $RELIABILITY_FIGURES_DIR. Under plain `npm test` the variable is unset
 * and nothing is written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function saveFigures(suite: string, figures: unknown): void {
  const dir = process.env.RELIABILITY_FIGURES_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${suite}.json`), JSON.stringify(figures, null, 2));
}
