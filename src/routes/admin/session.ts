import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { ADMIN_COOKIE, safeEqual, signSession } from '../../http/auth.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';

const SESSION_TTL_MS = 12 * 3600 * 1000;
const loginSchema = z.object({ password: z.string().min(1) });

/**
 * Wrong passwords are slowed down per client address: each recent failure adds a delay
 * (250 ms doubling, capped at 8 s), which makes guessing impractical without locking anybody out.
 */
class LoginThrottle {
  private failures = new Map<string, { count: number; at: number }>();
  delayMs(ip: string): number {
    const f = this.failures.get(ip);
    if (!f || Date.now() - f.at > 15 * 60_000) return 0;
    return Math.min(8000, 250 * 2 ** (f.count - 1));
  }
  fail(ip: string): void {
    const f = this.failures.get(ip);
    this.failures.set(ip, { count: (f && Date.now() - f.at < 15 * 60_000 ? f.count : 0) + 1, at: Date.now() });
    if (this.failures.size > 10_000) this.failures.clear();
  }
  succeed(ip: string): void {
    this.failures.delete(ip);
  }
}

/** POST /admin/api/login and /admin/api/logout (these two need no session). */
export function registerSessionRoutes(app: FastifyInstance, services: Services): void {
  const throttle = new LoginThrottle();
  app.post('/admin/api/login', async (req, reply) => {
    const { password } = parseBody(loginSchema, req.body);
    const wait = throttle.delayMs(req.ip);
    if (wait) await new Promise((r) => setTimeout(r, wait));
    if (!safeEqual(password, services.appKey)) {
      throttle.fail(req.ip);
      throw new AppError(401, 'authentication_error', 'invalid_password', 'Wrong admin password (APP_KEY).');
    }
    throttle.succeed(req.ip);
    const value = signSession(services.appKey, SESSION_TTL_MS);
    reply.header('set-cookie', `${ADMIN_COOKIE}=${value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`);
    return { ok: true, expires_at: new Date(Date.now() + SESSION_TTL_MS).toISOString() };
  });
  app.post('/admin/api/logout', async (_req, reply) => {
    reply.header('set-cookie', `${ADMIN_COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  });
}
