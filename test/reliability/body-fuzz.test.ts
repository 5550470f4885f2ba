/**
 * Issue 15 reliability suite, part 2: property-based fuzzing of the body of every public route that
 * takes one (found from the app's own route list, aliases included). Whatever the body, the proxy
 * answers below 500, never drops the connection, never throws past its handlers, and every error is
 * OpenAI-shaped ({error: {message, type}}) or, on the Anthropic routes, Anthropic-shaped
 * ({type: 'error', error: {type, message}}). FUZZ_RUNS sets the number of bodies (npm test: 300;
 * npm run reliability: thousands).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRoutes } from '../../src/http/route-list.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { fuzzBody, type FuzzBody } from './body-arbitraries.js';
import { saveFigures } from './figures.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

let stack: Stack;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => void uncaught.push(e);
beforeAll(async () => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  stack = await startStack();
  await stack.importTokens(['fuzz-1', 'fuzz-2', 'fuzz-3']);
});
afterAll(async () => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  await stack?.close();
});

const isAnthropic = (url: string) => /(^|\/)messages(\/|$)/.test(url);

function errorShaped(url: string, body: any): boolean {
  if (isAnthropic(url)) return body?.type === 'error' && typeof body.error?.type === 'string' && typeof body.error?.message === 'string';
  return typeof body?.error?.message === 'string' && typeof body.error?.type === 'string';
}

function requestInit(b: FuzzBody): RequestInit {
  const auth = { authorization: `Bearer ${API_KEY}`, 'x-api-key': API_KEY };
  switch (b.kind) {
    case 'form': {
      const form = new FormData();
      for (const [k, v] of Object.entries(b.fields)) form.append(k, v);
      for (const f of b.files) form.append(f.field, new Blob([new Uint8Array(f.bytes)], { type: f.type }), f.name);
      return { method: 'POST', headers: auth, body: form };
    }
    case 'raw':
      return { method: 'POST', headers: { ...auth, ...(b.contentType ? { 'content-type': b.contentType } : {}) }, body: b.body };
    default:
      return { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(b.value) };
  }
}

describe('body fuzzing of every public route', () => {
  it(`${RUNS} generated bodies: no 5xx, no crash, every error shaped`, { timeout: 60_000 + RUNS * 200 }, async () => {
    const routes = listRoutes(stack.app)
      .filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method) && !r.url.startsWith('/admin') && !r.url.includes(':'))
      .map((r) => r.url);
    expect(routes).toContain('/v1/chat/completions');
    const statuses: Record<string, number> = {};
    const perRoute: Record<string, number> = {};
    let fiveXx = 0;
    let dropped = 0;
    let unshaped = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fuzzBody, async (url, body) => {
        let res: Response;
        let text: string;
        try {
          res = await fetch(stack.url + url, requestInit(body));
          text = await res.text();
        } catch (e) {
          dropped++;
          throw new Error(`connection failed on ${url}: ${String(e)}`);
        }
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        perRoute[url] = (perRoute[url] ?? 0) + 1;
        if (res.status >= 500) {
          fiveXx++;
          throw new Error(`${res.status} on ${url}: ${text.slice(0, 300)}`);
        }
        if (res.status >= 400) {
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(text);
          } catch {
            /* not JSON: not shaped */
          }
          if (!errorShaped(url, parsed)) {
            unshaped++;
            throw new Error(`unshaped ${res.status} error on ${url}: ${text.slice(0, 300)}`);
          }
        }
      }),
      { numRuns: RUNS, endOnFailure: true },
    );
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(uncaught).toEqual([]);
    saveFigures('body-fuzz', { runs: RUNS, routes, perRoute, statuses, fiveXx, dropped, unshaped, uncaught: uncaught.length, ms: Math.round(performance.now() - started) });
  });
});
