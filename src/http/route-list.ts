import type { FastifyInstance } from 'fastify';

export interface RouteInfo {
  method: string;
  url: string;
}

const registry = new WeakMap<FastifyInstance, RouteInfo[]>();

/**
 * Records every route registered on the app from now on (an onRoute hook; child scopes inherit
 * it). The auth test walks this list, so a new admin route cannot forget its guard unnoticed.
 */
export function trackRoutes(app: FastifyInstance): void {
  const list: RouteInfo[] = [];
  registry.set(app, list);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') list.push({ method, url: route.url });
  });
}

export function listRoutes(app: FastifyInstance): RouteInfo[] {
  return [...(registry.get(app) ?? [])];
}
