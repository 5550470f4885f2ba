/**
 * GET /metrics (issue 17): a scrape parses as Prometheus text format with an independent parser
 * and carries what an operator needs — requests by route/model/status/key/provider, latency and
 * time to first byte, upstream attempts and failovers by failure class, accounts by state, slots,
 * the queue, bytes — and an optional bearer token guards it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { isChatTurn } from '../helpers/transports.js';
import { samples, scrape, total } from './scrape.js';

let stack: Stack;
afterEach(() => stack?.close());

const chat = (content: string, stream = false) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-4', stream, messages: [{ role: 'user', content }] }),
  });

describe('GET /metrics', () => {
  it('counts requests, timings, upstream failovers by class, accounts, slots and bytes', async () => {
    stack = await startStack();
    stack.fake.setAccount('metrics-dead', { state: 'invalid' });
    stack.fake.setAccount('metrics-ok', { state: 'valid' });
    await stack.importTokens(['metrics-dead', 'metrics-ok']);
    const before = await scrape(stack.url);
    const served0 = total(before, 'grok2api_http_requests_total', { route: '/v1/chat/completions', status: '200', model: 'grok-4' });

    // Until the pool has run into the dead account once (it then moves on to the good one).
    let n = 0;
    while (!stack.fake.requests.some((r) => isChatTurn(r) && r.token === 'metrics-dead')) {
      expect((await chat(`metrics ${n}`)).status).toBe(200);
      if (++n > 6) throw new Error('the dead account was never tried');
    }
    const streamed = await chat('metrics stream', true);
    expect(streamed.status).toBe(200);
    await streamed.text();
    n++;
    expect((await chat('x').then(() => fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }) }))).status).toBe(404);
    n++;

    const s = await scrape(stack.url);
    const chatLabels = { route: '/v1/chat/completions', model: 'grok-4', status: '200' };
    expect(total(s, 'grok2api_http_requests_total', chatLabels) - served0).toBe(n);
    expect(samples(s, 'grok2api_http_requests_total', chatLabels).every((m) => m.labels.key === 'API_KEY' && m.labels.provider === 'grok' && m.labels.method === 'POST')).toBe(true);
    // An unknown model is not a label value (names from clients are unbounded).
    expect(total(s, 'grok2api_http_requests_total', { route: '/v1/chat/completions', status: '404', model: 'none' })).toBe(1);
    expect(samples(s, 'grok2api_http_requests_total', { model: 'no-such-model' })).toHaveLength(0);

    const h = { route: '/v1/chat/completions', model: 'grok-4' };
    expect(total(s, 'grok2api_http_request_duration_seconds_count', h)).toBe(n);
    expect(total(s, 'grok2api_http_request_duration_seconds_bucket', { ...h, le: '+Inf' })).toBe(n);
    const latencySum = total(s, 'grok2api_http_request_duration_seconds_sum', h);
    expect(latencySum).toBeGreaterThan(0);
    expect(total(s, 'grok2api_http_time_to_first_byte_seconds_count', h)).toBe(n);
    expect(total(s, 'grok2api_http_time_to_first_byte_seconds_sum', h)).toBeLessThanOrEqual(latencySum);

    expect(total(s, 'grok2api_upstream_attempts_total', { provider: 'grok', result: 'ok' })).toBeGreaterThanOrEqual(n - 1);
    expect(total(s, 'grok2api_upstream_attempts_total', { provider: 'grok', result: 'upstream_auth_failed' })).toBe(1);
    expect(total(s, 'grok2api_upstream_failovers_total', { provider: 'grok', class: 'upstream_auth_failed' })).toBe(1);

    expect(total(s, 'grok2api_accounts', { provider: 'grok', state: 'invalid' })).toBe(1);
    expect(total(s, 'grok2api_accounts', { provider: 'grok', state: 'active' })).toBe(1);
    expect(s.types.get('grok2api_slots_in_use')).toBe('gauge');
    expect(total(s, 'grok2api_slots_in_use')).toBe(0);
    expect(total(s, 'grok2api_slot_queue_depth')).toBe(0);
    expect(total(s, 'grok2api_http_request_bytes_total', { route: '/v1/chat/completions' })).toBeGreaterThan(n * 100);
    expect(total(s, 'grok2api_http_response_bytes_total', { route: '/v1/chat/completions' })).toBeGreaterThan(n * 100);
    expect(s.types.get('grok2api_store_errors_total')).toBe('counter');
    expect(s.types.get('grok2api_upstream_unknown_total')).toBe('counter');
    expect(total(s, 'grok2api_process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('asks for the bearer token when metrics.token is set', async () => {
    stack = await startStack({ overrides: { metrics: { token: 'scrape-secret' } } });
    const open = await fetch(`${stack.url}/metrics`);
    expect(open.status).toBe(401);
    expect((await open.json()).error.type).toBe('authentication_error');
    expect((await fetch(`${stack.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const s = await scrape(stack.url, 'scrape-secret');
    expect(s.types.get('grok2api_http_requests_total')).toBe('counter');
    // The token is a secret: masked in the settings API like the other keys.
    expect((await (await stack.admin('GET', '/admin/api/settings')).json()).metrics.token).toBe('***');
  });
});
