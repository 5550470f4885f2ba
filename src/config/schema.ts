import { z } from 'zod';

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

const modelEntry = z
  .object({
    id: z.string().min(1),
    kind: z.enum(['chat', 'image', 'image_edit', 'video']).default('chat'),
    modes: z.array(z.string().min(1)).min(1),
    tier: z.enum(['basic', 'super', 'heavy']).default('basic'),
    thinking: z.boolean().default(false),
    cost: z.number().int().min(0).default(1),
    owned_by: z.string().default('xai'),
    created: z.number().int().default(1735689600),
    /** Image models: "ws" (imagine WebSocket) or "chat" (conversations/new with the `Drawing:` prefix). */
    image_path: z.enum(['ws', 'chat']).default('ws'),
    tags: z.array(z.string().min(1)).default([]),
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
        storage_type: z.enum(['local', 'redis']),
        shutdown_grace_sec: z.coerce.number().min(0),
      })
      .strict(),
    redis: z.object({ url: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://'), prefix: z.string().min(1) }).strict(),
    log: z
      .object({
        level: z
          .string()
          .transform((v) => v.toLowerCase())
          .pipe(z.enum(['debug', 'info', 'warn', 'error'])),
        requests: bool,
        recent_requests: z.coerce.number().int().min(0).max(100_000),
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
        proxy_url: z.union([z.literal(''), z.string().regex(/^(https?|socks5h?):\/\//, 'must start with http://, https:// or socks5://')]),
        user_agent: z.string().min(1),
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
    timeout: z.object({ connect_sec: positive, first_byte_sec: positive, idle_sec: positive }).strict(),
    retry: z.object({ max_attempts: z.coerce.number().int().min(1).max(20), budget_sec: positive }).strict(),
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
      .object({ max_concurrent: z.coerce.number().int().min(1).max(100), task_ttl_hours: positive, generation_timeout_sec: positive })
      .strict(),
    image: z.object({ nsfw: bool, round_timeout_sec: positive }).strict(),
    responses: z.object({ ttl_days: positive }).strict(),
    models: z.array(modelEntry).min(1),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ModelEntry = z.infer<typeof modelEntry>;
