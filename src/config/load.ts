import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

/** A configuration problem, reported as one line naming the key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Tree = Record<string, unknown>;

/**
 * Environment variable → dotted config key (docs/api-contract.md §2.2). No other module reads
 * configuration from process.env (tracing reads the OTEL_* variables the OpenTelemetry SDK
 * defines, src/tracing/tracing.ts; the doctor CLI its DOCTOR_SSO_TOKEN).
 */
const ENV_KEYS: Record<string, string> = {
  SERVER_HOST: 'server.host',
  SERVER_PORT: 'server.port',
  SERVER_WORKERS: 'server.workers',
  SERVER_STORAGE_TYPE: 'server.storage_type',
  SERVER_TRUST_PROXY: 'server.trust_proxy',
  DATA_DIR: 'server.data_dir',
  LOG_LEVEL: 'log.level',
  REDIS_URL: 'redis.url',
  REDIS_PREFIX: 'redis.prefix',
  DATABASE_URL: 'database.url',
  DATABASE_POOL_SIZE: 'database.pool_size',
  DATABASE_TLS: 'database.tls',
  DATABASE_CA_FILE: 'database.ca_file',
  DATABASE_TABLE_PREFIX: 'database.table_prefix',
  API_KEY: 'app.api_key',
  APP_KEY: 'app.app_key',
  APP_URL: 'app.app_url',
  GROK_BASE_URL: 'grok.base_url',
  GROK_ASSETS_URL: 'grok.assets_url',
  GROK_CHAT_TRANSPORT: 'grok.chat_transport',
  PROXY_URL: 'grok.proxy_url',
  EGRESS_PROXIES: 'grok.egress_proxies',
  GROK_HTTP_CLIENT: 'grok.http_client',
  GROK_BROWSER_PROFILE: 'grok.browser_profile',
  GROK_CA_FILE: 'grok.ca_file',
  FLARESOLVERR_URL: 'grok.flaresolverr_url',
  XAI_BASE_URL: 'xai.base_url',
  XAI_API_KEYS: 'xai.api_keys',
  METRICS_TOKEN: 'metrics.token',
  ALERTS_WEBHOOK_URL: 'alerts.webhook_url',
};

/** Finds config.defaults.toml by walking up from this module (works from src/ and from dist/). */
export function defaultsPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'config.defaults.toml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new ConfigError('config.defaults.toml not found next to the installation');
}

function readToml(path: string): Tree {
  try {
    return parseToml(readFileSync(path, 'utf8')) as Tree;
  } catch (err) {
    throw new ConfigError(`${path}: ${(err as Error).message.split('\n')[0]}`);
  }
}

function isObject(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge where `over` wins; `[[models]]` entries merge by id (an override replaces one entry). */
export function mergeConfig(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === 'models' && Array.isArray(value) && Array.isArray(base.models)) {
      const byId = new Map<string, unknown>((base.models as Tree[]).map((m) => [String(m.id), m]));
      for (const m of value as Tree[]) byId.set(String(m.id), m);
      out.models = [...byId.values()];
    } else if (isObject(value) && isObject(base[key])) {
      out[key] = mergeConfig(base[key] as Tree, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function setPath(tree: Tree, dotted: string, value: unknown): void {
  const [section, key] = dotted.split('.') as [string, string];
  const sec = (isObject(tree[section]) ? tree[section] : {}) as Tree;
  tree[section] = { ...sec, [key]: value };
}

function redisUrlFromParts(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.REDIS_HOST && !env.REDIS_PORT && !env.REDIS_DB && !env.REDIS_PASSWORD) return undefined;
  const auth = env.REDIS_PASSWORD ? `:${encodeURIComponent(env.REDIS_PASSWORD)}@` : '';
  return `redis://${auth}${env.REDIS_HOST || '127.0.0.1'}:${env.REDIS_PORT || '6379'}/${env.REDIS_DB || '0'}`;
}

/** storage_type pgsql/mysql need a database.url of the same kind. */
function checkDatabaseUrl(config: Config): void {
  const type = config.server.storage_type;
  if (type !== 'pgsql' && type !== 'mysql') return;
  const url = config.database.url;
  const example = type === 'pgsql' ? 'postgres://user:password@localhost:5432/grok2api' : 'mysql://user:password@localhost:3306/grok2api';
  if (!url) throw new ConfigError(`invalid configuration: database.url: server.storage_type = "${type}" needs DATABASE_URL, e.g. ${example}`);
  const isPg = /^postgres(ql)?:/.test(url);
  if (isPg !== (type === 'pgsql')) throw new ConfigError(`invalid configuration: database.url: server.storage_type = "${type}" needs a ${type === 'pgsql' ? 'postgres://' : 'mysql:// (or mariadb://)'} URL, e.g. ${example}`);
}

/** Formats the first zod issue as `key: problem`. */
function describe(err: z.ZodError): string {
  const issue = err.issues[0]!;
  const path = issue.path.map(String).join('.') || '(root)';
  return `invalid configuration: ${path}: ${issue.message}`;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Extra overrides applied last (tests). */
  overrides?: Tree;
}

/** Loads, merges and validates the configuration. Throws ConfigError with one line on any problem. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  let tree = readToml(defaultsPath());
  const dataDir = resolve(env.DATA_DIR || String((tree.server as Tree).data_dir));
  const overridePath = join(dataDir, 'config.toml');
  if (existsSync(overridePath)) tree = mergeConfig(tree, readToml(overridePath));
  const envTree: Tree = {};
  for (const [name, dotted] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(envTree, dotted, value);
  }
  const redisUrl = env.REDIS_URL ? undefined : redisUrlFromParts(env);
  if (redisUrl) setPath(envTree, 'redis.url', redisUrl);
  tree = mergeConfig(tree, envTree);
  if (opts.overrides) tree = mergeConfig(tree, opts.overrides);
  const parsed = configSchema.safeParse(tree);
  if (!parsed.success) throw new ConfigError(describe(parsed.error));
  const config = parsed.data;
  config.server.data_dir = resolve(config.server.data_dir);
  const ids = new Set<string>();
  for (const m of config.models) {
    if (ids.has(m.id)) throw new ConfigError(`invalid configuration: models: duplicate id '${m.id}'`);
    ids.add(m.id);
  }
  if (config.server.workers > 1 && config.server.storage_type === 'local') {
    throw new ConfigError('invalid configuration: server.workers: more than 1 worker requires a shared store: server.storage_type = "redis", "pgsql" or "mysql"');
  }
  checkDatabaseUrl(config);
  return config;
}
