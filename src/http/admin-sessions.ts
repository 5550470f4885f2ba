import { createHmac, randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { SESSION_TTL_MS, type SessionStore } from '../store/sessions.js';

export const ADMIN_COOKIE = 'g2a_admin';

/**
 * Server-side admin sessions. The cookie carries 256 random bits; the store keeps only
 * HMAC(admin key, cookie) with an expiry. So a logout (any instance) really ends the session,
 * a dump of the store yields no usable cookie, and a new admin key orphans every old session.
 */
export class AdminSessions {
  constructor(
    readonly store: SessionStore,
    private readonly adminKey: () => string,
  ) {}

  private lookupId(cookie: string): string {
    return createHmac('sha256', this.adminKey()).update(cookie).digest('base64url');
  }

  /** Opens a session; returns the cookie value and its expiry. */
  async open(now = Date.now()): Promise<{ cookie: string; expiresAt: number }> {
    const cookie = randomBytes(32).toString('base64url');
    const expiresAt = now + SESSION_TTL_MS;
    await this.store.create(this.lookupId(cookie), expiresAt);
    return { cookie, expiresAt };
  }

  /** Whether the request carries a live session cookie. */
  async isValid(req: FastifyRequest): Promise<boolean> {
    const cookie = readCookie(req.headers.cookie, ADMIN_COOKIE);
    // Our cookies are 43 base64url characters; anything else is not worth a store lookup.
    if (!cookie || !/^[A-Za-z0-9_-]{43}$/.test(cookie)) return false;
    return this.store.isValid(this.lookupId(cookie));
  }

  /** Ends the request's session, if it has one. */
  async close(req: FastifyRequest): Promise<void> {
    const cookie = readCookie(req.headers.cookie, ADMIN_COOKIE);
    if (cookie) await this.store.remove(this.lookupId(cookie));
  }
}

/**
 * Set-Cookie for the session (or its removal with `value` null). `Secure` when the request came
 * over HTTPS, directly or as a trusted proxy says (X-Forwarded-Proto, server.trust_proxy):
 * browsers then never send it over plain HTTP.
 */
export function sessionCookie(req: FastifyRequest, value: string | null): string {
  const attrs = [`${ADMIN_COOKIE}=${value ?? ''}`, 'Path=/admin', 'HttpOnly', 'SameSite=Strict', `Max-Age=${value === null ? 0 : SESSION_TTL_MS / 1000}`];
  if (req.protocol === 'https') attrs.push('Secure');
  return attrs.join('; ');
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Who the login throttle counts: the client address (as server.trust_proxy resolves it). An IPv6
 * client is counted by its /64, since one host commonly owns a whole /64 and could otherwise
 * rotate through addresses.
 */
export function throttleClient(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!isIPv6(ip)) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
