import type { Lease } from '../../store/types.js';
import { readBounded } from '../http-client.js';
import type { GrokClient } from './client.js';
import { UpstreamError } from '../../errors.js';

/**
 * The grok.com user UUID of an account, which the mgw gateway wants in `?uid=` and in the
 * `x-userid` cookie (docs/upstream-grok.md §3.1): `GET /api/auth/session`, cached in memory per
 * account (a user id never changes for a token; a token change re-imports the account under a new
 * id). Concurrent first turns of one account share one lookup.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_CACHED = 10_000;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (typeof v === 'object' && v !== null ? (v as Obj) : undefined);

/** First non-empty of the places grok.com has put the id (`session.userId`, `user.id`, …). */
export function userIdFromSession(j: unknown): string | undefined {
  const root = obj(j);
  const session = obj(root?.session);
  const user = obj(root?.user);
  const found = [session?.userId, user?.id, user?.userId, user?.sub, root?.id, root?.userId, root?.sub].find((v) => typeof v === 'string' && v);
  return found as string | undefined;
}

export class SessionIdentity {
  private readonly cache = new Map<string, Promise<string>>();

  constructor(private readonly client: GrokClient) {}

  /** The account's user UUID; rejects with a classified UpstreamError (401 → account invalid, …). */
  userId(lease: Lease, signal: AbortSignal): Promise<string> {
    if (signal.aborted) return Promise.reject(this.client.errors.aborted());
    const key = lease.accountId;
    let p = this.cache.get(key);
    if (!p) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      // Shared by concurrent turns, so it is bounded by its own timeout, not by one client's signal.
      p = this.lookup(lease.token);
      this.cache.set(key, p);
      // A failed lookup is not remembered: the next turn asks again.
      p.catch(() => this.cache.delete(key));
    }
    return new Promise<string>((resolve, reject) => {
      const onAbort = () => reject(this.client.errors.aborted());
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async lookup(token: string): Promise<string> {
    const client = this.client;
    const headers: Record<string, string> = {
      Accept: '*/*',
      'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.8',
      'Cache-Control': 'no-cache',
      Pragma: 'no-cache',
      ...client.sameOriginFetch(token),
      Cookie: client.cookie(token),
    };
    try {
      const res = await client.request(client.url('/api/auth/session'), {
        method: 'GET',
        account: token,
        headers,
        signal: AbortSignal.timeout(client.timeouts.firstByteMs),
      });
      const text = await readBounded(res.body);
      if (res.statusCode < 200 || res.statusCode >= 300) throw client.classifyHttp(res.statusCode, text, res.headers);
      let j: unknown;
      try {
        j = JSON.parse(text);
      } catch {
        throw client.errors.badResponse('/api/auth/session did not answer JSON', res.statusCode);
      }
      const status = obj(j)?.status;
      if (status === 'unauthenticated' || status === 'blocked') {
        throw new UpstreamError(502, 'upstream_auth_failed', `grok.com says the account's session is ${status} (/api/auth/session).`, 'retry-other', 'invalid', undefined, res.statusCode);
      }
      const id = userIdFromSession(j);
      if (!id || !UUID.test(id)) throw client.errors.badResponse('/api/auth/session has no user id', res.statusCode);
      return id.toLowerCase();
    } catch (e) {
      if (e instanceof UpstreamError) throw e;
      if ((e as { name?: string }).name === 'TimeoutError') throw client.errors.timeout('/api/auth/session');
      throw client.classifyNetwork(e);
    }
  }
}
