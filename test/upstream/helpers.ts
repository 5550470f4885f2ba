import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';

/** The default config with overrides, never reading a real DATA_DIR/config.toml. */
export function testConfig(overrides: Record<string, Record<string, unknown>> = {}): Config {
  return loadConfig({ env: { DATA_DIR: join(tmpdir(), 'g2a-upstream-test-no-such-dir') }, overrides });
}

/** An async iterable over the given chunks (strings are UTF-8 encoded). */
export async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}
