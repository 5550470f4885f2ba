/**
 * ESM resolve hook for the peer (registered by peer.mjs): the gateway's own imports of
 * @hono/node-server go to the project's top-level copy, pinned at 1.13.8. npm nests a 1.19.x
 * under the gateway (its @hono/node-ws wants ^1.19.11), and with that one every proxied request
 * fails on Node 20 with "TypeError: immutable" (the gateway appends to a Response's headers).
 */
const ROOT_PARENT = new URL('../package.json', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if ((specifier === '@hono/node-server' || specifier.startsWith('@hono/node-server/')) && context.parentURL?.includes('/@portkey-ai/gateway/build/')) {
    return next(specifier, { ...context, parentURL: ROOT_PARENT });
  }
  return next(specifier, context);
}
