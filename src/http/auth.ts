import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { resolveModel } from '../config/catalogue.js';
import type { Config } from '../config/schema.js';
import type { ModelSpec, ProviderName } from '../core/models.js';
import { AppError, errors } from '../errors.js';
import type { KeyStore } from '../store/keys.js';
import type { AdminSessions } from './admin-sessions.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time string comparison (both sides hashed first, so lengths leak nothing). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** The key a client presented: `Authorization: Bearer <key>` or `x-api-key` (Anthropic clients). */
export function presentedKey(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (auth && auth.length > 7 && auth.slice(0, 7).toLowerCase() === 'bearer ') return auth.slice(7).trim();
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x ? x.trim() : null;
}

/**
 * Client keys, kept as SHA-256 digests: a lookup compares digests, so timing reveals nothing
 * about the secret. Empty set = open API (start-up warns about it).
 */
export class ClientKeys {
  private digests = new Set<string>();
  constructor(
    keys: string[],
    /** Keys managed in the store (admin console); they carry limits, env/config keys do not. */
    private readonly store: KeyStore | null = null,
    /** The current config, to resolve a requested model against a key's provider limit. */
    private readonly config: (() => Config) | null = null,
  ) {
    this.set(keys);
  }
  set(keys: string[]): void {
    this.digests = new Set(keys.map((k) => sha256(k).toString('hex')));
  }
  get open(): boolean {
    return this.digests.size === 0;
  }
  check(req: FastifyRequest): void {
    if (this.open) return;
    const key = presentedKey(req);
    if (!key || !this.digests.has(sha256(key).toString('hex'))) throw errors.invalidApiKey();
  }

  /** Open API: no configured key and no key in the store. */
  async isOpen(): Promise<boolean> {
    return this.open && (!this.store || (await this.store.count()) === 0);
  }

  /**
   * onRequest: who is calling. Config/env keys are unlimited; a store key must exist, be enabled
   * and not expired (401 otherwise, like a wrong key, so probing learns nothing).
   */
  async authenticate(req: FastifyRequest): Promise<void> {
    const key = presentedKey(req);
    const digest = key ? sha256(key).toString('hex') : null;
    if (digest && this.digests.has(digest)) return void keyContexts.set(req, ENV_KEY);
    const stored = digest && this.store ? await this.store.findByHash(digest) : null;
    if (stored) {
      if (!stored.enabled || (stored.expiresAt !== null && stored.expiresAt <= Date.now())) throw errors.invalidApiKey();
      keyContexts.set(req, { id: stored.id, name: stored.name, models: stored.models, rpm: stored.rpm, rpd: stored.rpd, tags: stored.tags, providers: stored.providers });
      return;
    }
    if (!(await this.isOpen())) throw errors.invalidApiKey();
  }

  /** preHandler (the body is parsed): the key's model allowlist (403), then its rate limits (429). */
  async authorize(req: FastifyRequest): Promise<void> {
    const ctx = keyContexts.get(req);
    if (!ctx || ctx.id === null) return;
    const model = (req.body as { model?: unknown } | undefined)?.model;
    if (ctx.models && typeof model === 'string' && !ctx.models.includes(model)) {
      throw new AppError(403, 'permission_error', 'model_not_allowed', `This API key may not use the model '${model}'. Allowed: ${ctx.models.join(', ')}.`, 'model');
    }
    // A key limited to providers that cannot serve the model is refused before anything is fetched.
    if (ctx.providers && this.config && typeof model === 'string') {
      const spec = resolveModel(this.config(), model);
      if (spec && forClientKey(req, spec).providers!.length === 0) throw errors.providerNotAllowed(model);
    }
    if (!this.store) return;
    const hit = await this.store.hit(ctx.id, { rpm: ctx.rpm, rpd: ctx.rpd });
    if (!hit.ok) {
      const sec = Math.max(1, Math.ceil(hit.retryAfterMs / 1000));
      const per = hit.limit === 'rpm' ? `${ctx.rpm} requests per minute` : `${ctx.rpd} requests per day`;
      throw new AppError(429, 'rate_limit_error', 'rate_limit_exceeded', `This API key is limited to ${per}. Retry after ${sec} s.`, null, sec);
    }
  }
}

/** The calling key as the routes and the request log see it. `id` null = a config/env key. */
export interface KeyContext {
  id: string | null;
  name: string;
  models: string[] | null;
  rpm: number | null;
  rpd: number | null;
  tags: string[];
  /** Providers whose credentials may serve the key; null = every provider. */
  providers: ProviderName[] | null;
}
const ENV_KEY: KeyContext = { id: null, name: 'API_KEY', models: null, rpm: null, rpd: null, tags: [], providers: null };
const keyContexts = new WeakMap<FastifyRequest, KeyContext>();

export function clientKeyOf(req: FastifyRequest): KeyContext | undefined {
  return keyContexts.get(req);
}

/** Account tags the calling key is restricted to, for pool.acquire (undefined = any account). */
export function clientKeyTags(req: FastifyRequest): string[] | undefined {
  const tags = keyContexts.get(req)?.tags;
  return tags && tags.length ? tags : undefined;
}

/**
 * The model as the calling key may use it: its providers narrowed to the key's (in the model's
 * order). An empty list makes the pool refuse with 403 model_not_allowed before any lease.
 */
export function forClientKey(req: FastifyRequest, model: ModelSpec): ModelSpec {
  const allowed = keyContexts.get(req)?.providers;
  if (!allowed) return model;
  return { ...model, providers: (model.providers ?? ['grok']).filter((p) => allowed.includes(p)) };
}

/** Admin access: the admin key as Bearer, or a live session cookie (http/admin-sessions.ts). */
export async function checkAdmin(req: FastifyRequest, appKey: string, sessions: AdminSessions): Promise<void> {
  const key = presentedKey(req);
  if (key && safeEqual(key, appKey)) return;
  if (await sessions.isValid(req)) return;
  throw errors.adminAuth();
}
