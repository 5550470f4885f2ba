import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';

/**
 * The public origin for links to this server's own resources (docs/api-contract.md §6.4: `APP_URL`, else the
 * request's scheme and host, which honour X-Forwarded-* from the proxies server.trust_proxy trusts).
 */
export function publicBase(req: FastifyRequest, config: Config): string {
  if (config.app.app_url) return config.app.app_url.replace(/\/+$/, '');
  return `${req.protocol}://${req.host}`;
}

export function fileUrl(req: FastifyRequest, config: Config, kind: 'image' | 'video', id: string): string {
  return `${publicBase(req, config)}/v1/files/${kind}/${id}`;
}
