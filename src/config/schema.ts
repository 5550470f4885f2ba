import { z } from 'zod';
import { PROVIDER_NAMES } from '../core/models.js';
import { parseTrustProxy } from '../http/trust-proxy.js';

/**
 * The shape of the merged configuration (defaults TOML → DATA_DIR/config.toml → env). Keys are
 * documented in config.defaults.toml; this schema only checks types and ranges. `.strict()` on
 * sections turns a typo in an override file into a start-up error that names the key.
 */
const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().positive();
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const commaList = z.union([z.array(z.string()), z.string()]).transform((v) =>
  (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean),
);
const httpUrl = z.string().refine((v) => /^https?:\/\/[^/\s]+/.test(v), 'must be an http(s) URL such as https://grok.com');
/** server.trust_proxy: false, a hop count, or the proxies' addresses/CIDRs (see http/trust-proxy.ts). */
const trustProxy = z.unknown().transform((v, ctx) => {
  const parsed = parseTrustProxy(v);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const proxyUrl = z.string().regex(/^(https?|socks5h?):\/\/[^\s]+$/, 'must start with http://, https://, socks5:// or socks5h://');

const modelEntry = z
  .object({
    id: z.string().min(1),
    kind: z.enum(['chat', 'image', 'image_edit', 'video']).default('chat'),
    /** Absent only on an alias, which takes everything from `alias_of`. */
    modes: z.array(z.string().min(1)).min(1).optional(),
    alias_of: z.string().min(1).optional(),
    tier: z.enum(['basic', 'super', 'heavy']).default('basic'),
    /** The mode always reasons before answering (used by retry.require_reasoning). */
    thinking: z.boolean().default(false),
    cost: z.number().int().min(0).default(1),
    owned_by: z.string().default('xai'),
    created: z.number().int().default(1735689600),
    /** Image models: "ws" (imagine WebSocket) or "chat" (conversations/new with the `Drawing:` prefix). */
    image_path: z.enum(['ws', 'chat']).default('ws'),
    /** Image models: imagine's "pro" quality (`enable_pro`). */
    pro: z.boolean().default(false),
    tags: z.array(z.string().min(1)).default([]),
    /** Upstreams that may serve the model, in order: the next one is asked when one has no eligible credential. */
    providers: z.array(z.enum(['grok', 'xai'])).min(1).default(['grok']),
    /** The model name sent to the xAI API (default: the id). */
    xai_model: z.string().min(1).optional(),
  })
  .strict()
  .refine((m) => (m.modes === undefined) !== (m.alias_of === undefined), {
    message: 'give either modes or alias_of (an alias takes everything from the model it names)',
    path: ['modes'],
  });

/** Every alias names a model of the catalogue that is not itself an alias. */
const modelList = z
  .array(modelEntry)
  .min(1)
  .superRefine((list, ctx) => {
    const byId = new Map(list.map((m) => [m.id, m]));
    list.forEach((m, i) => {
      if (m.alias_of === undefined) return;
      const target = byId.get(m.alias_of);
      if (!target) ctx.addIssue({ code: 'custom', path: [i, 'alias_of'], message: `'${m.alias_of}' is not a model id of the catalogue` });
      else if (target.alias_of !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'alias_of'], message: `'${m.alias_of}' is itself an alias; name '${target.alias_of}'` });
    });
  });

/**
 * One line of the price table: USD per million tokens for a provider's model. `model` is the
 * provider's name for it (the xAI API model for xai, the catalogue id for grok) or `*` for every
 * model of that provider without a line of its own.
 */
const priceEntry = z
  .object({
    provider: z.enum(PROVIDER_NAMES),
    model: z.string().min(1),
    input_per_mtok: z.number().min(0),
    output_per_mtok: z.number().min(0),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1),
        port,
        workers: z.coerce.number().int().min(1).max(64),
        data_dir: z.string().min(1),
        storage_type: z.enum(['local', 'redis', 'pgsql', 'mysql']),
        shutdown_grace_sec: z.coerce.number().min(0),
        trust_proxy: trustProxy,
        request_timeout_sec: positive,
      })
      .strict(),
    redis: z
      .object({
        url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'),
        prefix: z.string().min(1),
        liveness_timeout_ms: z.coerce.number().int().min(50).max(60_000),
      })
      .strict(),
    database: z
      .object({
        url: z.union([z.literal(''), z.string().regex(/^(postgres|postgresql|mysql|mariadb):\/\/[^\s]+$/, 'must start with postgres://, postgresql://, mysql:// or mariadb://')]),
        pool_size: z.coerce.number().int().min(1).max(200),
        tls: z.enum(['off', 'require', 'verify']),
        ca_file: z.string(),
        table_prefix: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/, 'must be lower-case letters, digits and _ (at most 31), starting with a letter'),
        timeout_ms: z.coerce.number().int().min(50).max(60_000),
      })
      .strict(),
    log: z
      .object({
        level: z
          .string()
          .transform((v) => v.toLowerCase())
          .pipe(z.enum(['debug', 'info', 'warn', 'error'])),
        requests: bool,
        recent_requests: z.coerce.number().int().min(0).max(10_000_000),
        retention_days: z.coerce.number().int().min(0).max(3650),
        usage_days: z.coerce.number().int().min(1).max(3650),
      })
      .strict(),
    app: z
      .object({
        app_url: z.union([z.literal(''), httpUrl]),
        api_key: commaList,
        app_key: z.string(),
        thinking: bool,
        reasoning_format: z.enum(['field', 'think_tags']),
        image_format: z.enum(['url', 'b64_json', 'base64', 'markdown']),
        video_format: z.enum(['url', 'markdown', 'html']),
      })
      .strict(),
    grok: z
      .object({
        base_url: httpUrl,
        assets_url: httpUrl,
        accounts_url: httpUrl,
        chat_transport: z.enum(['ws', 'rest']),
        proxy_url: z.union([z.literal(''), proxyUrl]),
        egress_proxies: z.preprocess((v) => (typeof v === 'string' ? v.split(/[\s,]+/).filter(Boolean) : v), z.array(proxyUrl)),
        http_client: z.enum(['wreq', 'undici']),
        browser_profile: z.string().regex(/^chrome(_\d+)?$/, 'must be "chrome" (the newest profile) or chrome_<version>, e.g. chrome_149'),
        browser_os: z.enum(['macos', 'windows', 'linux']),
        identity_per_account: bool,
        ca_file: z.string(),
        flaresolverr_url: z.union([z.literal(''), httpUrl]),
        user_agent: z.string(),
        cf_clearance: z.string(),
        statsig_mode: z.enum(['x1', 'e', 'manual']),
        statsig_value: z.string(),
        temporary: bool,
        disable_memory: bool,
        custom_instruction: z.string(),
      })
      .strict()
      .refine((g) => g.statsig_mode !== 'manual' || Buffer.from(g.statsig_value, 'base64').length === 70, {
        message: 'statsig_value must base64-decode to exactly 70 bytes when statsig_mode = "manual"',
        path: ['statsig_value'],
      }),
    xai: z
      .object({
        base_url: httpUrl,
        /** Keys imported (kind xai) at start-up; already present ones are skipped. */
        api_keys: commaList,
        /** How long the xAI model list (merged into /v1/models) is reused, in seconds. */
        models_ttl_sec: z.coerce.number().min(0),
        /** How long a key that ran out of credits stays out of rotation, in seconds. */
        exhausted_retry_sec: positive,
      })
      .strict(),
    timeout: z.object({ connect_sec: positive, first_byte_sec: positive, idle_sec: positive }).strict(),
    retry: z.object({ max_attempts: z.coerce.number().int().min(1).max(20), budget_sec: positive, require_reasoning: bool }).strict(),
    token: z
      .object({
        selection_strategy: z.enum(['max_quota', 'round_robin', 'random', 'least_recently_used']),
        max_concurrency_per_account: z.coerce.number().int().min(1).max(1000),
        fail_threshold: z.coerce.number().int().min(0),
        refresh_interval_hours: positive,
        super_refresh_interval_hours: positive,
        cooldown_seconds: z.coerce.number().min(0),
        basic_modes: z.array(z.string()),
        super_modes: z.array(z.string()),
        heavy_modes: z.array(z.string()),
        auto_refresh: bool,
        sync_on_import: bool,
        refresh_concurrency: z.coerce.number().int().min(1).max(100),
        nsfw_concurrency: z.coerce.number().int().min(1).max(100),
        queue_timeout_sec: z.coerce.number().min(0).max(600),
        queue_max: z.coerce.number().int().min(1).max(1_000_000),
      })
      .strict(),
    security: z
      .object({
        max_body_mb: positive,
        max_messages: z.coerce.number().int().min(1),
        cors_origins: commaList,
        fetch_allowlist: commaList,
        fetch_max_mb: positive,
        fetch_timeout_sec: positive,
        max_attachments: z.coerce.number().int().min(0).max(64),
      })
      .strict(),
    performance: z.object({ sse_keepalive_sec: positive }).strict(),
    cache: z
      .object({
        image_limit_mb: z.coerce.number().min(0),
        video_limit_mb: z.coerce.number().min(0),
        evict_target_ratio: z.coerce.number().gt(0).max(1),
        max_asset_mb: positive,
      })
      .strict(),
    video: z
      .object({
        max_concurrent: z.coerce.number().int().min(1).max(100),
        task_ttl_hours: positive,
        generation_timeout_sec: positive,
        generation: z.enum(['2026-08', 'legacy']),
      })
      .strict(),
    image: z.object({ nsfw: bool, round_timeout_sec: positive }).strict(),
    responses: z.object({ ttl_days: positive }).strict(),
    metrics: z.object({ token: z.string() }).strict(),
    alerts: z
      .object({
        webhook_url: z.union([z.literal(''), httpUrl]),
        format: z.enum(['generic', 'slack', 'discord']),
        min_interval_sec: z.coerce.number().min(0),
        min_usable_accounts: z.coerce.number().int().min(0),
        min_quota_left: z.coerce.number().min(0),
        check_interval_sec: positive,
        timeout_sec: positive,
        max_retries: z.coerce.number().int().min(0).max(10),
        retry_delay_sec: z.coerce.number().min(0),
      })
      .strict(),
    models: modelList,
    /** Cost per request (stats per key and per credential); empty = costs are not counted. */
    prices: z
      .array(priceEntry)
      .default([])
      .refine((list) => new Set(list.map((p) => `${p.provider}\u0000${p.model}`)).size === list.length, { message: 'two [[prices]] lines for the same provider and model' }),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ModelEntry = z.infer<typeof modelEntry>;
