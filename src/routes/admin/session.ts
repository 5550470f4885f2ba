import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { sessionCookie, throttleClient } from '../../http/admin-sessions.js';
import { safeEqual } from '../../http/auth.js';
import { parseBody } from '../../http/validate.js';
import type { Services } from '../../services.js';

const loginSchema = z.object({ password: z.string().min(1) });

/**
 * POST /admin/api/login and /admin/api/logout (these two need no session). Wrong passwords are
 * slowed down per client (store/sessions.ts LOGIN_THROTTLE): each try of a streak waits for its
 * slot, tries beyond 8 s of booked slots get 429 without the password being checked.
 */
export function registerSessionRoutes(app: FastifyInstance, services: Services): void {
  app.post('/admin/api/login', async (req, reply) => {
    const { password } = parseBody(loginSchema, req.body);
    const client = throttleClient(req.ip);
    const slot = await services.sessions.store.claimLoginSlot(client);
    if (!slot.ok) {
      const sec = Math.max(1, Math.ceil(slot.retryAfterMs / 1000));
      throw new AppError(429, 'rate_limit_error', 'rate_limit_exceeded', `Too many sign-in attempts from your address. Retry after ${sec} s.`, null, sec);
    }
    if (slot.waitMs > 0) await new Promise((r) => setTimeout(r, slot.waitMs));
    if (!safeEqual(password, services.appKey)) {
      throw new AppError(401, 'authentication_error', 'invalid_password', 'Wrong admin password (APP_KEY).');
    }
    await services.sessions.store.clearLoginFailures(client);
    const { cookie, expiresAt } = await services.sessions.open();
    reply.header('set-cookie', sessionCookie(req, cookie));
    return { ok: true, expires_at: new Date(expiresAt).toISOString() };
  });
  app.post('/admin/api/logout', async (req, reply) => {
    await services.sessions.close(req);
    reply.header('set-cookie', sessionCookie(req, null));
    return { ok: true };
  });
}

/** POST /admin/api/logout-everywhere (admin scope): ends every admin session on every instance. */
export function registerSessionAdminRoutes(scope: FastifyInstance, services: Services): void {
  scope.post('/admin/api/logout-everywhere', async (req, reply) => {
    const ended = await services.sessions.store.removeAll();
    reply.header('set-cookie', sessionCookie(req, null));
    return { ok: true, ended };
  });
}
