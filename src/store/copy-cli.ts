/**
 * `npm run store:copy -- --from local --to pgsql` (or `node dist/src/store/copy-cli.js …`):
 * copies accounts, keys, settings, video tasks, stored responses and the admin key between
 * storages (./copy.ts). Where each side lives comes from the usual configuration (DATA_DIR,
 * REDIS_URL, DATABASE_URL, prefixes) unless given here.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.js';
import { copyStore, STORAGE_TYPES, type Endpoint, type StorageType } from './copy.js';

const USAGE = `usage: npm run store:copy -- --from <type> --to <type> [options]
  types: ${STORAGE_TYPES.join(', ')}
  --from-url, --to-url        Redis or database URL (default REDIS_URL / DATABASE_URL)
  --from-dir, --to-dir        DATA_DIR of a local store (default DATA_DIR)
  --from-prefix, --to-prefix  Redis key prefix or table prefix (default REDIS_PREFIX / DATABASE_TABLE_PREFIX)
Stop the server first when either side is local. Running it again copies nothing twice.`;

function endpoint(values: Record<string, string | boolean | undefined>, side: 'from' | 'to'): Endpoint {
  const type = values[side];
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  if (typeof type !== 'string' || !STORAGE_TYPES.includes(type as StorageType)) throw new Error(`--${side} must be one of ${STORAGE_TYPES.join(', ')}`);
  return { type: type as StorageType, url: str(`${side}-url`), dir: str(`${side}-dir`), prefix: str(`${side}-prefix`) };
}

async function main(): Promise<void> {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({
    options: { from: str, to: str, 'from-url': str, 'to-url': str, 'from-dir': str, 'to-dir': str, 'from-prefix': str, 'to-prefix': str, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const from = endpoint(values, 'from');
  const to = endpoint(values, 'to');
  // The copy is not a server: a storage type set in the environment must not make loading fail.
  const base = loadConfig({ env: { ...process.env, SERVER_STORAGE_TYPE: 'local', SERVER_WORKERS: '1' } });
  await copyStore(base, from, to, (line) => process.stdout.write(`${line}\n`));
}

main().catch((err) => {
  const message = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`store:copy: ${message}\n${/must be one of|--from|--to/.test(message) ? `${USAGE}\n` : ''}`);
  process.exit(1);
});
