import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/** Everything the page may load comes from this server: no CDN, works offline. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/** Finds the admin-ui folder by walking up from this module (works from src/ and from dist/). */
export function adminUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'admin-ui');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('admin-ui/index.html not found next to the installation');
}

/**
 * The admin console's static files, read once at start (a few dozen kB) and served from memory
 * under /admin. Only files that exist in the folder are served, so no path can escape it. The
 * page itself holds no data: everything comes from /admin/api/*, which requires a session.
 */
export function registerUiRoutes(app: FastifyInstance): void {
  const dir = adminUiDir();
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  const send = (name: string) => {
    const file = files.get(name);
    if (!file) throw errors.notFound(`No such file in the admin console: ${name}`);
    return file;
  };
  const headers = (type: string) => ({
    'content-type': type,
    'cache-control': 'no-cache',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  for (const path of ['/admin', '/admin/']) {
    app.get(path, async (_req, reply) => reply.headers(headers(TYPES['.html']!)).send(send('index.html').body));
  }
  app.get<{ Params: { file: string } }>('/admin/ui/:file', async (req, reply) => {
    const file = send(req.params.file);
    return reply.headers(headers(file.type)).send(file.body);
  });
}
