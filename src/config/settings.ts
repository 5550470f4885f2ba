/**
 * Runtime settings (docs/api-contract.md §2.3, §8.3): the effective configuration is the start-up config
 * (defaults → DATA_DIR/config.toml → env) with the settings changed through the admin API on
 * top. A change is validated against the same schema, persisted (local: DATA_DIR/config.toml,
 * written atomically; redis: one key, announced on pub/sub) and applied on every instance —
 * locally at once, on the others when the announcement arrives (well under a second).
 * Listen address, storage and the admin key are start-up only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';
import { AppError } from '../errors.js';
import { writeFileAtomic } from '../lib/atomic-write.js';
import { mergeConfig } from './load.js';
import { configSchema, type Config } from './schema.js';

type Tree = Record<string, unknown>;

/** Whole sections, and single keys, that only take effect at start-up. */
const LOCKED_SECTIONS = new Set(['server', 'redis', 'database']);
const LOCKED_KEYS = new Set(['app.app_key']);
/** Shown as this in GET; sending it back in PUT keeps the stored value. */
export const SECRET_MASK = '***';
const SECRET_KEYS = new Set(['app.api_key', 'app.app_key', 'grok.cf_clearance', 'grok.proxy_url', 'grok.egress_proxies', 'grok.statsig_value', 'metrics.token', 'alerts.webhook_url']);

/** Where overrides live and how other instances hear about changes. */
export interface SettingsBackend {
  /** Overrides saved by earlier updates that the start-up config does not already contain. */
  load(): Promise<Tree | null>;
  /** Persists `patch` merged into what is stored. */
  persist(patch: Tree): Promise<void>;
  /** Calls `onChange` whenever another instance changed the settings. */
  watch(onChange: () => void): Promise<void>;
}

const isObject = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** DATA_DIR/config.toml: already part of the start-up config, so load() has nothing extra. */
export function fileSettingsBackend(dataDir: string): SettingsBackend {
  const path = join(dataDir, 'config.toml');
  return {
    async load() {
      return null;
    },
    async persist(patch) {
      const current = existsSync(path) ? (parseToml(readFileSync(path, 'utf8')) as Tree) : {};
      await writeFileAtomic(path, stringifyToml(mergeConfig(current, patch)));
    },
    async watch() {},
  };
}

export class SettingsService {
  private overrides: Tree = {};
  private current: Config;
  private listeners = new Set<(c: Config) => void>();

  constructor(
    private readonly base: Config,
    private readonly backend: SettingsBackend,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.current = base;
  }

  /** The effective configuration now. */
  get(): Config {
    return this.current;
  }

  /** Called with the new config after every change (local or from another instance). */
  onChange(fn: (c: Config) => void): void {
    this.listeners.add(fn);
  }

  async init(): Promise<void> {
    await this.reload();
    await this.backend.watch(() => void this.reload().catch(this.onError));
  }

  private async reload(): Promise<void> {
    const stored = await this.backend.load();
    if (stored) this.apply(stored);
  }

  private apply(overrides: Tree): void {
    const parsed = configSchema.safeParse(mergeConfig(this.base as unknown as Tree, overrides));
    if (!parsed.success) throw new Error(`stored settings are invalid: ${parsed.error.issues[0]?.message}`);
    parsed.data.server.data_dir = this.base.server.data_dir;
    this.overrides = overrides;
    this.current = parsed.data;
    for (const fn of this.listeners) fn(this.current);
  }

  /** The runtime-editable sections, secrets masked. */
  view(): Tree {
    const out: Tree = {};
    for (const [section, value] of Object.entries(this.current)) {
      if (LOCKED_SECTIONS.has(section)) continue;
      if (!isObject(value)) {
        out[section] = value;
        continue;
      }
      const sec: Tree = {};
      for (const [key, v] of Object.entries(value)) {
        const dotted = `${section}.${key}`;
        if (LOCKED_KEYS.has(dotted)) continue;
        const empty = v === '' || (Array.isArray(v) && v.length === 0);
        sec[key] = SECRET_KEYS.has(dotted) && !empty ? SECRET_MASK : v;
      }
      out[section] = sec;
    }
    return out;
  }

  /** Validates a partial update, persists it and applies it. Throws a 400 naming the key on bad input. */
  async update(patch: Tree): Promise<Tree> {
    const clean: Tree = {};
    for (const [section, value] of Object.entries(patch)) {
      if (LOCKED_SECTIONS.has(section)) throw notEditable(isObject(value) ? `${section}.${Object.keys(value)[0] ?? ''}` : section);
      if (!isObject(value)) {
        clean[section] = value;
        continue;
      }
      const sec: Tree = {};
      for (const [key, v] of Object.entries(value)) {
        const dotted = `${section}.${key}`;
        if (LOCKED_KEYS.has(dotted)) throw notEditable(dotted);
        if (SECRET_KEYS.has(dotted) && v === SECRET_MASK) continue;
        sec[key] = v;
      }
      if (Object.keys(sec).length > 0) clean[section] = sec;
    }
    const next = mergeConfig(this.overrides, clean);
    const parsed = configSchema.safeParse(mergeConfig(this.base as unknown as Tree, next));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = issue.path.map(String).join('.');
      throw new AppError(400, 'invalid_request_error', 'invalid_value', `Invalid setting '${param}': ${issue.message}.`, param);
    }
    await this.backend.persist(clean);
    this.apply(next);
    return this.view();
  }
}

function notEditable(key: string): AppError {
  return new AppError(
    400,
    'invalid_request_error',
    'setting_not_editable',
    `The setting '${key}' only takes effect at start-up (listen address, storage and admin key); change it in DATA_DIR/config.toml or the environment and restart.`,
    key,
  );
}
