import type { FastifyReply } from 'fastify';

type Raw = FastifyReply['raw'];

/** What runs at a response's first body byte; the response's write/end are wrapped once for all. */
const waiting = new WeakMap<Raw, (() => void)[]>();

/**
 * Calls `fn` once, when the response writes its first body byte, whichever way the route writes
 * (fastify's send, a piped or hijacked stream): at the first `write` or `end` of the raw
 * response. Call it before the answer starts (an onRequest hook). Metrics (time to first byte)
 * and tracing (the `first_byte` event) share one wrapper per response, not one each.
 */
export function onFirstByte(raw: Raw, fn: () => void): void {
  const list = waiting.get(raw);
  if (list) {
    list.push(fn);
    return;
  }
  const fns = [fn];
  waiting.set(raw, fns);
  let fired = false;
  const fire = () => {
    if (fired) return;
    fired = true;
    for (const f of fns) f();
  };
  const write = raw.write;
  raw.write = function (this: Raw, ...args: unknown[]) {
    fire();
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Raw['write'];
  const end = raw.end;
  raw.end = function (this: Raw, ...args: unknown[]) {
    fire();
    return (end as (...a: unknown[]) => Raw).apply(this, args);
  } as Raw['end'];
}
