import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { settingsHelp } from '../../config/help.js';
import { errors } from '../../errors.js';
import type { Services } from '../../services.js';
import { decodeCursor, encodeCursor, type LogQuery, type StatusRange } from '../../stats/log-query.js';
import { DAY, type LogEntry } from '../../stats/types.js';

const EXPORT_PAGE = 1000;

/** One log entry as the API shows it (never a prompt, an answer, a token or a key: the key by name and id). */
function logView(e: LogEntry) {
  return {
    time: new Date(e.time).toISOString(),
    method: e.method,
    route: e.route,
    model: e.model,
    key_id: e.keyId ?? null,
    key_name: e.key,
    account_id: e.account,
    status: e.status,
    duration_ms: e.ms,
    tokens: e.tokens,
    prompt_tokens: e.promptTokens ?? null,
    completion_tokens: e.completionTokens ?? null,
    cost_usd: e.cost ?? null,
    cost_estimated: e.costEstimated === true,
  };
}

const CSV_COLUMNS = ['time', 'method', 'route', 'model', 'key_id', 'key_name', 'account_id', 'status', 'duration_ms', 'tokens', 'prompt_tokens', 'completion_tokens', 'cost_usd', 'cost_estimated'] as const;

/**
 * One CSV record (RFC 4180: quoted when needed, CRLF). A text cell that a spreadsheet would run as
 * a formula (=, +, -, @, tab, CR) gets a leading apostrophe: model names come from clients.
 */
function csvLine(v: ReturnType<typeof logView>): string {
  return `${CSV_COLUMNS.map((c) => {
    const x = v[c];
    if (x === null || x === undefined) return '';
    if (typeof x !== 'string') return String(x);
    const safe = /^[=+\-@\t\r]/.test(x) ? `'${x}` : x;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  }).join(',')}\r\n`;
}

/** A time filter: ISO 8601 or epoch milliseconds. */
function parseTime(param: string, v: string): number {
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms)) throw errors.invalidValue(param, `'${param}' must be an ISO 8601 time (2026-12-04T18:00:00Z) or epoch milliseconds, not '${v.slice(0, 40)}'.`);
  return ms;
}

/** A status filter: a code (429) or a class (4xx). */
function parseStatus(v: string): StatusRange {
  if (/^[1-5]\d\d$/.test(v)) return { min: Number(v), max: Number(v) };
  if (/^[1-5]xx$/i.test(v)) return { min: Number(v[0]) * 100, max: Number(v[0]) * 100 + 99 };
  throw errors.invalidValue('status', `'status' must be a status code (429) or a class (2xx, 4xx, 5xx), not '${v.slice(0, 40)}'.`);
}

/** The filters of /admin/api/logs and its export; a bad one is a 400 naming it. */
function parseLogQuery(query: Record<string, string | undefined>): Omit<LogQuery, 'limit'> {
  const q: Omit<LogQuery, 'limit'> = {};
  const text = (name: string) => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (v.length > 191) throw errors.invalidValue(name, `'${name}' is longer than 191 characters.`);
    return v;
  };
  const from = text('from');
  const to = text('to');
  if (from !== undefined) q.from = parseTime('from', from);
  if (to !== undefined) q.to = parseTime('to', to);
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw errors.invalidValue('from', `'from' (${from}) is after 'to' (${to}).`);
  q.model = text('model');
  q.keyId = text('key');
  q.account = text('account');
  q.route = text('route');
  const status = text('status');
  if (status !== undefined) q.status = parseStatus(status);
  const cursor = text('cursor');
  if (cursor !== undefined) {
    const c = decodeCursor(cursor);
    if (!c) throw errors.invalidValue('cursor', `'cursor' must be the next_cursor of a previous page, not '${cursor.slice(0, 40)}'.`);
    q.before = c;
  }
  for (const k of Object.keys(q) as (keyof typeof q)[]) if (q[k] === undefined) delete q[k];
  return q;
}

/** Usage figures, the request log (filters, pages, export), per-key usage history, and the settings' help texts for the console. */
export function registerStatsRoutes(app: FastifyInstance, services: Services): void {
  app.get('/admin/api/stats', async () => {
    const now = Date.now();
    const health: Record<string, number> = { active: 0, cooling: 0, invalid: 0, disabled: 0 };
    for (const a of await services.store.listAccounts()) {
      // A cooling account whose time has passed is usable again: count it as active.
      const status = a.status === 'cooling' && (a.coolingUntil === null || a.coolingUntil <= now) ? 'active' : a.status;
      health[status] = (health[status] ?? 0) + 1;
    }
    return {
      ...(await services.stats.snapshot(now)),
      accounts_by_status: health,
      // Requests waiting for a concurrency slot right now (every instance, on a shared store).
      queue_depth: await services.pool.queueDepth(),
      // What grok.com sent that this process does not know (frame kinds, channels, cards), by kind:name.
      upstream_unknown: services.providers.get('grok')?.unknownFrames?.() ?? {},
      generated_at: new Date(now).toISOString(),
    };
  });

  // The request log: filtered, newest first, one page at a time (next_cursor for the next one).
  app.get<{ Querystring: Record<string, string | undefined> }>('/admin/api/logs', async (req) => {
    const q = parseLogQuery(req.query);
    const raw = req.query.limit ?? '100';
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 10_000) throw errors.invalidValue('limit', `'limit' must be an integer from 1 to 10000, not '${raw}'.`);
    const page = await services.stats.queryLog({ ...q, limit });
    return { logs: page.entries.map(logView), next_cursor: page.next ? encodeCursor(page.next) : null, has_more: page.next !== null };
  });

  // The same filters, every matching entry, streamed as CSV or JSON Lines (one page read at a time).
  app.get<{ Querystring: Record<string, string | undefined> }>('/admin/api/logs/export', async (req, reply) => {
    const format = req.query.format ?? 'jsonl';
    if (format !== 'csv' && format !== 'jsonl') throw errors.invalidValue('format', `'format' must be 'csv' or 'jsonl', not '${format}'.`);
    const q = parseLogQuery(req.query);
    // The first page is read before the headers go out, so a store that is down is a plain 503.
    const first = await services.stats.queryLog({ ...q, limit: EXPORT_PAGE });
    const stats = services.stats;
    async function* lines(): AsyncGenerator<string> {
      if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
      let page = first;
      for (;;) {
        let chunk = '';
        for (const e of page.entries) chunk += format === 'csv' ? csvLine(logView(e)) : `${JSON.stringify(logView(e))}\n`;
        if (chunk) yield chunk;
        if (!page.next) return;
        page = await stats.queryLog({ ...q, before: page.next, limit: EXPORT_PAGE });
      }
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="request-log-${stamp}.${format}"`)
      .header('cache-control', 'no-store');
    return reply.send(Readable.from(lines()));
  });

  // Per-key usage per UTC day: requests, prompt/completion tokens, cost.
  app.get<{ Querystring: Record<string, string | undefined> }>('/admin/api/usage/keys', async (req) => {
    const today = Math.floor(Date.now() / DAY);
    const day = (param: 'from' | 'to', fallback: number) => {
      const v = req.query[param];
      if (v === undefined || v === '') return fallback;
      const ms = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
      if (!Number.isFinite(ms)) throw errors.invalidValue(param, `'${param}' must be a date like 2026-12-04 (UTC), not '${v.slice(0, 40)}'.`);
      return Math.floor(ms / DAY);
    };
    const toDay = day('to', today);
    const fromDay = day('from', toDay - 29);
    if (fromDay > toDay) throw errors.invalidValue('from', `'from' (${req.query.from}) is after 'to' (${req.query.to ?? 'today'}).`);
    if (toDay - fromDay > 3650) throw errors.invalidValue('from', 'The range may span at most 3650 days.');
    const keyId = req.query.key || undefined;
    const days = await services.stats.keyUsage({ fromDay, toDay, keyId });
    // Sums over the range per key, most requests first.
    const totals = new Map<string, { key_id: string; key_name: string | null; requests: number; success: number; failed: number; prompt_tokens: number; completion_tokens: number; tokens: number; cost_usd: number; cost_estimated_usd: number }>();
    for (const d of days) {
      const t = totals.get(d.key_id) ?? { key_id: d.key_id, key_name: null, requests: 0, success: 0, failed: 0, prompt_tokens: 0, completion_tokens: 0, tokens: 0, cost_usd: 0, cost_estimated_usd: 0 };
      t.key_name = d.key_name ?? t.key_name;
      t.requests += d.requests;
      t.success += d.success;
      t.failed += d.failed;
      t.prompt_tokens += d.prompt_tokens;
      t.completion_tokens += d.completion_tokens;
      t.tokens += d.tokens;
      t.cost_usd = Math.round((t.cost_usd + d.cost_usd) * 1e6) / 1e6;
      t.cost_estimated_usd = Math.round((t.cost_estimated_usd + d.cost_estimated_usd) * 1e6) / 1e6;
      totals.set(d.key_id, t);
    }
    return {
      from: new Date(fromDay * DAY).toISOString().slice(0, 10),
      to: new Date(toDay * DAY).toISOString().slice(0, 10),
      days,
      keys: [...totals.values()].sort((a, b) => b.requests - a.requests || (a.key_id < b.key_id ? -1 : 1)),
    };
  });

  app.get('/admin/api/settings/help', async () => ({ help: settingsHelp() }));
}
