/**
 * The on-disk form of the local store: one JSON file holding accounts (without the in-memory
 * in-flight counter) and meta values. Parsing is strict on purpose: a damaged file must stop
 * start-up with a clear message instead of silently losing accounts.
 */
import { readFile } from 'node:fs/promises';
import { degradedCounts } from '../account-rules.js';
import type { Account } from '../types.js';

export const STATE_FILE_NAME = 'store.json';
const VERSION = 1;

export interface LoadedState {
  accounts: Account[];
  meta: Map<string, string>;
}

/** The file content for the given state (synchronous, so it is a consistent snapshot). */
export function serializeState(accounts: Iterable<Account>, meta: Map<string, string>): string {
  const list = [...accounts].map(({ inFlight: _inFlight, ...rest }) => rest);
  return JSON.stringify({ version: VERSION, accounts: list, meta: Object.fromEntries(meta) });
}

/**
 * Reads the state file. Resolves null when it does not exist yet; throws an Error naming the
 * file when it cannot be read or is not a valid state file (never drops entries silently).
 * Loaded accounts have inFlight 0: leases do not survive a restart.
 */
export async function loadState(path: string): Promise<LoadedState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read local store file ${path}: ${(err as Error).message}`);
  }
  const fail = (why: string): never => {
    throw new Error(`local store file ${path} is corrupt (${why}); restore it from a backup or move it away to start empty`);
  };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return fail(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObject(data) || !Array.isArray(data.accounts)) return fail('no accounts array');
  if (data.version !== VERSION) return fail(`unsupported version ${String(data.version)}`);
  const accounts = data.accounts.map((raw: unknown, i: number) => {
    const acc = toAccount(raw);
    return acc ?? fail(`account #${i} is malformed`);
  });
  const meta = new Map<string, string>();
  if (data.meta !== undefined) {
    if (!isObject(data.meta)) return fail('meta is not an object');
    for (const [k, v] of Object.entries(data.meta)) {
      if (typeof v !== 'string') return fail(`meta ${k} is not a string`);
      meta.set(k, v);
    }
  }
  return { accounts, meta };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const TIERS = new Set(['basic', 'super', 'heavy']);
const STATUSES = new Set(['active', 'cooling', 'invalid', 'disabled']);

/** Checks the fields lease/report rely on; null when something essential is wrong. */
function toAccount(raw: unknown): Account | null {
  if (!isObject(raw)) return null;
  const a = raw as Partial<Account> & Record<string, unknown>;
  if (typeof a.id !== 'string' || typeof a.token !== 'string' || a.token === '') return null;
  if (typeof a.tier !== 'string' || !TIERS.has(a.tier)) return null;
  if (typeof a.status !== 'string' || !STATUSES.has(a.status)) return null;
  if (!isObject(a.quotas) || !Array.isArray(a.tags)) return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const numOrNull = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const quotas: Account['quotas'] = {};
  for (const [mode, q] of Object.entries(a.quotas)) {
    if (!isObject(q)) return null;
    quotas[mode] = {
      remaining: num(q.remaining),
      total: num(q.total),
      windowSeconds: num(q.windowSeconds),
      resetAt: numOrNull(q.resetAt),
    };
  }
  return {
    id: a.id,
    token: a.token,
    ...(a.kind === 'xai' ? { kind: a.kind } : {}),
    tier: a.tier,
    status: a.status,
    coolingUntil: numOrNull(a.coolingUntil),
    quotas,
    tags: a.tags.filter((t): t is string => typeof t === 'string'),
    note: typeof a.note === 'string' ? a.note : '',
    inFlight: 0,
    useCount: num(a.useCount),
    failCount: num(a.failCount),
    consecutiveFailures: num(a.consecutiveFailures),
    lastUsedAt: numOrNull(a.lastUsedAt),
    lastError: typeof a.lastError === 'string' ? a.lastError : null,
    lastErrorAt: numOrNull(a.lastErrorAt),
    degraded: degradedCounts(a.degraded),
    createdAt: num(a.createdAt),
  };
}
