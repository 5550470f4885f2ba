/**
 * Redis connections that fail fast: while Redis is down every command rejects at once (no
 * offline queue, one retry at most, a command timeout) and becomes a 503 `store_unavailable`,
 * while the client keeps reconnecting in the background with a capped backoff, so service
 * resumes by itself when Redis is back.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from '../../errors.js';

export interface ConnectOptions {
  url: string;
  /** Only for errors and logs: where the store lives, without credentials. */
  label?: string;
  /** Longest wait for one command before it fails (ms). */
  commandTimeoutMs?: number;
}

/** `redis://user:pw@host:6379/0` → `host:6379/0` (never print a password). */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'the configured Redis';
  }
}

export function createRedis(opts: ConnectOptions, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeoutMs ?? 5000,
    connectTimeout: 3000,
    // Reconnect forever: 50 ms, 100 ms, … capped at 2 s.
    retryStrategy: (times: number) => Math.min(times * 50, 2000),
    ...extra,
  };
  const client = new Redis(opts.url, options);
  // Without a listener ioredis prints every failed reconnect; callers see errors on their commands.
  client.on('error', () => {});
  return client;
}

/** Resolves once the client is ready; rejects with a clear message after `timeoutMs`. */
export async function connectOrThrow(client: Redis, label: string, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      }),
    ]);
  } catch (err) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${label} (${(err as Error).message}); check redis.url / REDIS_URL`);
  } finally {
    clearTimeout(timer);
  }
}

/** Redis script/reply errors are bugs or data problems; everything else means "cannot reach Redis". */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)/.test(err.message);
  return true;
}

export function storeUnavailable(label: string): AppError {
  return new AppError(
    503,
    'server_error',
    'store_unavailable',
    `The account store (Redis at ${label}) is unreachable. The server reconnects by itself; retry in a few seconds.`,
    null,
    2,
  );
}
