/**
 * Starts the peer, @portkey-ai/gateway's Node build (its package "bin", build/start-server.js),
 * bound to 127.0.0.1: the bundle calls @hono/node-server's serve() without a hostname, which
 * would listen on every interface. Usage: node bench/peer.mjs --port=N --headless
 * Its postinstall `patch-package` has nothing to apply (the package ships no patches/ folder), so
 * the blocked install script changes nothing.
 */
import net from 'node:net';
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  // serve() calls listen(port, undefined, cb) or listen(port, cb).
  if (typeof args[0] === 'number') {
    if (args[1] === undefined || typeof args[1] === 'function') args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};

// See peer-hooks.mjs: the gateway needs @hono/node-server 1.13.8 on Node 20.
register('./peer-hooks.mjs', import.meta.url);

const require = createRequire(import.meta.url);
const pkg = require.resolve('@portkey-ai/gateway/package.json');
const { bin } = require('@portkey-ai/gateway/package.json');
await import(pathToFileURL(join(dirname(pkg), typeof bin === 'string' ? bin : Object.values(bin)[0])).href);
