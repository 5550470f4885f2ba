import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { errors } from '../errors.js';

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
  constructor(keys: string[]) {
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
}

export const ADMIN_COOKIE = 'g2a_admin';

/**
 * Stateless admin sessions: `<expiry>.<hmac(appKey, expiry)>`. Any instance that knows the
 * admin key can verify them, and changing the key logs everybody out.
 */
export function signSession(appKey: string, ttlMs: number, now = Date.now()): string {
  const exp = String(now + ttlMs);
  return `${exp}.${createHmac('sha256', appKey).update(exp).digest('base64url')}`;
}

export function verifySession(appKey: string, value: string | undefined, now = Date.now()): boolean {
  if (!value) return false;
  const dot = value.indexOf('.');
  if (dot < 0) return false;
  const exp = value.slice(0, dot);
  if (!/^\d+$/.test(exp) || Number(exp) < now) return false;
  return safeEqual(value.slice(dot + 1), createHmac('sha256', appKey).update(exp).digest('base64url'));
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Admin access: the admin key as Bearer, or a valid session cookie. */
export function checkAdmin(req: FastifyRequest, appKey: string): void {
  const key = presentedKey(req);
  if (key && safeEqual(key, appKey)) return;
  if (verifySession(appKey, readCookie(req.headers.cookie, ADMIN_COOKIE))) return;
  throw errors.adminAuth();
}
