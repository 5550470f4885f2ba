/**
 * The request log through the admin API: filters, cursor pages, CSV / JSON Lines export with the
 * same filters, per-key usage per day, OpenAI-shaped 400s for bad filters, and nothing secret in
 * any of it. Requests go through the real server (fake grok.com behind it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let account: string;
let key: { id: string; key: string };
let other: { id: string; key: string };
let started: number;

const chat = (secret: string, model = 'grok-4', content = 'a secret prompt') =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
  });

async function getJson(path: string) {
  const res = await stack.admin('GET', path);
  expect(res.status).toBe(200);
  return res.json();
}

async function expectBadParam(path: string, param: string) {
  const res = await stack.admin('GET', path);
  expect(res.status).toBe(400);
  const body = await res.json();
  expectValid('ErrorResponse', body);
  expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_value', param });
  return body;
}

beforeAll(async () => {
  stack = await startStack({ overrides: { grok: { chat_transport: 'rest' } } });
  [account] = await stack.importTokens(['tok-log-1']);
  key = await (await stack.admin('POST', '/admin/api/keys', { name: 'laptop', models: ['grok-4'] })).json();
  other = await (await stack.admin('POST', '/admin/api/keys', { name: 'ci' })).json();
  started = Date.now();
  expect((await chat(key.key)).status).toBe(200);
  expect((await chat(key.key)).status).toBe(200);
  expect((await chat(key.key, 'grok-3')).status).toBe(403);
  expect((await chat(other.key, 'grok-3')).status).toBe(200);
  expect((await chat('sk-g2a-unknown')).status).toBe(401);
});
afterAll(() => stack?.close());

describe('request log filters and pages', () => {
  it('filters by key id, status, model, route, account and time, and names keys by id and name only', async () => {
    const all = (await getJson('/admin/api/logs?limit=100')).logs;
    expect(all).toHaveLength(5);
    const byKey = await getJson(`/admin/api/logs?key=${key.id}`);
    expect(byKey.logs.map((l: { status: number }) => l.status)).toEqual([403, 200, 200]);
    expect(byKey.logs[1]).toMatchObject({ key_id: key.id, key_name: 'laptop', account_id: account, model: 'grok-4', route: '/v1/chat/completions', method: 'POST' });
    // Token counts split as the client was told them in usage.
    const served = byKey.logs[1];
    expect(served.prompt_tokens).toBeGreaterThan(0);
    expect(served.completion_tokens).toBeGreaterThan(0);
    expect(served.tokens).toBe(served.prompt_tokens + served.completion_tokens);
    expect((await getJson('/admin/api/logs?status=4xx')).logs.map((l: { status: number }) => l.status)).toEqual([401, 403]);
    expect((await getJson('/admin/api/logs?status=403')).logs).toHaveLength(1);
    expect((await getJson('/admin/api/logs?model=grok-3')).logs.map((l: { key_name: string }) => l.key_name)).toEqual(['ci', 'laptop']);
    expect((await getJson(`/admin/api/logs?account=${account}`)).logs).toHaveLength(3);
    expect((await getJson('/admin/api/logs?route=/v1/chat/completions')).logs).toHaveLength(5);
    expect((await getJson('/admin/api/logs?route=/v1/responses')).logs).toHaveLength(0);
    expect((await getJson(`/admin/api/logs?from=${new Date(started - 1000).toISOString()}&to=${Date.now()}`)).logs).toHaveLength(5);
    expect((await getJson(`/admin/api/logs?to=${new Date(started - 1000).toISOString()}`)).logs).toHaveLength(0);
    // Never the prompt, the account token or a key.
    const text = JSON.stringify(all);
    for (const secret of ['a secret prompt', 'tok-log-1', key.key, other.key, 'sk-g2a-unknown']) expect(text).not.toContain(secret);
  });

  it('pages newest first with next_cursor until has_more is false', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await getJson(`/admin/api/logs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      pages++;
      seen.push(...page.logs.map((l: { time: string; status: number }) => `${l.time}/${l.status}`));
      expect(page.has_more).toBe(page.next_cursor !== null);
      cursor = page.next_cursor;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual((await getJson('/admin/api/logs?limit=100')).logs.map((l: { time: string; status: number }) => `${l.time}/${l.status}`));
  });

  it('refuses bad filters with a 400 naming the parameter', async () => {
    await expectBadParam('/admin/api/logs?status=abc', 'status');
    await expectBadParam('/admin/api/logs?status=600', 'status');
    await expectBadParam('/admin/api/logs?from=yesterday', 'from');
    await expectBadParam('/admin/api/logs?to=12:00', 'to');
    await expectBadParam('/admin/api/logs?from=2026-12-04&to=2026-12-01', 'from');
    await expectBadParam('/admin/api/logs?cursor=abc', 'cursor');
    await expectBadParam('/admin/api/logs?limit=0', 'limit');
    await expectBadParam('/admin/api/logs?limit=2.5', 'limit');
    await expectBadParam(`/admin/api/logs?model=${'m'.repeat(200)}`, 'model');
    await expectBadParam('/admin/api/logs/export?format=xml', 'format');
    await expectBadParam('/admin/api/logs/export?format=csv&status=9xx', 'status');
    await expectBadParam('/admin/api/usage/keys?from=2026-13-45', 'from');
    await expectBadParam('/admin/api/usage/keys?from=2026-12-05&to=2026-12-01', 'from');
  });
});

describe('request log export', () => {
  it('exports the filtered log as CSV and as JSON Lines', async () => {
    const csv = await stack.admin('GET', `/admin/api/logs/export?format=csv&key=${key.id}`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="request-log-.*\.csv"$/);
    const rows = (await csv.text()).trimEnd().split('\r\n');
    expect(rows[0]).toBe('time,method,route,model,key_id,key_name,account_id,status,duration_ms,tokens,prompt_tokens,completion_tokens,cost_usd,cost_estimated');
    expect(rows).toHaveLength(4);
    expect(rows.slice(1).map((r) => r.split(',')[7])).toEqual(['403', '200', '200']);
    expect(rows[2]!.split(',').slice(4, 7)).toEqual([key.id, 'laptop', account]);

    const jsonl = await stack.admin('GET', '/admin/api/logs/export?format=jsonl&status=2xx');
    expect(jsonl.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await jsonl.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.key_name)).toEqual(['ci', 'laptop', 'laptop']);
    expect(lines).toEqual((await getJson('/admin/api/logs?status=2xx')).logs);
  });

  it('streams every matching entry over many pages, and defuses spreadsheet formulas in CSV', async () => {
    const { stats } = stack.runtime.services;
    const t = Date.now() - 3_600_000;
    for (let i = 0; i < 2500; i++) {
      stats.record({ time: t + i, method: 'POST', route: '/v1/messages', model: i === 0 ? '=HYPERLINK("http://x","y")' : 'bulk', key: null, keyId: null, account: null, status: 200, ms: 1, tokens: null });
    }
    const jsonl = await (await stack.admin('GET', '/admin/api/logs/export?format=jsonl&route=/v1/messages')).text();
    const lines = jsonl.trimEnd().split('\n');
    expect(lines).toHaveLength(2500);
    expect(new Set(lines).size).toBe(2500);
    const csv = await (await stack.admin('GET', '/admin/api/logs/export?format=csv&route=/v1/messages&to=' + (t + 10))).text();
    const last = csv.trimEnd().split('\r\n').at(-1)!;
    expect(last).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);
  });
});

describe('per-key usage history', () => {
  it('sums requests, prompt and completion tokens per key per day', async () => {
    const usage = await getJson('/admin/api/usage/keys');
    const today = new Date().toISOString().slice(0, 10);
    expect(usage.to).toBe(today);
    const mine = usage.days.find((d: { key_id: string; date: string }) => d.key_id === key.id && d.date === today);
    expect(mine).toMatchObject({ key_name: 'laptop', requests: 3, success: 2, failed: 1 });
    expect(mine.prompt_tokens).toBeGreaterThan(0);
    expect(mine.completion_tokens).toBeGreaterThan(0);
    expect(mine.tokens).toBe(mine.prompt_tokens + mine.completion_tokens);
    expect(usage.keys.map((k: { key_name: string }) => k.key_name)).toEqual(['laptop', 'ci']);
    const one = await getJson(`/admin/api/usage/keys?key=${other.id}&from=${today}&to=${today}`);
    expect(one.days.map((d: { key_name: string; requests: number }) => [d.key_name, d.requests])).toEqual([['ci', 1]]);
  });
});

describe('request log retention as a runtime setting', () => {
  it('applies log.recent_requests from the settings at once, and refuses a bad value naming it', async () => {
    expect((await stack.admin('PUT', '/admin/api/settings', { log: { recent_requests: 2, retention_days: 7 } })).status).toBe(200);
    const page = await getJson('/admin/api/logs?limit=100');
    expect(page.logs).toHaveLength(2);
    expect(page.has_more).toBe(false);
    const bad = await stack.admin('PUT', '/admin/api/settings', { log: { retention_days: -1 } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toMatch(/log\.retention_days/);
  });
});
