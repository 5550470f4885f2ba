import { LAYER_TITLES, type LayerId, type LayerResult, type LayerStatus } from './report.js';

/** One layer's result; `ms` is filled in by `timed`. */
export function layer(id: LayerId, status: LayerStatus, seen: string, next: string | null = null, code: string | null = null): LayerResult {
  return { id, title: LAYER_TITLES[id], status, seen, next, code, ms: 0 };
}

/** Runs a check and records how long it took; a check that throws is reported, never rethrown. */
export async function timed(id: LayerId, check: () => Promise<LayerResult>): Promise<LayerResult> {
  const started = performance.now();
  let result: LayerResult;
  try {
    result = await check();
  } catch (e) {
    result = layer(id, 'fail', `The check itself failed: ${(e as Error).message}.`, 'Run again with LOG_LEVEL=debug and report it with this output.');
  }
  result.ms = Math.round(performance.now() - started);
  return result;
}

/** A layer that was not tried because a lower one failed. */
export function skipped(id: LayerId, because: string): LayerResult {
  return layer(id, 'skip', `Not tried: ${because}.`);
}
