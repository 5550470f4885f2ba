import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { AlertManager } from '../../src/alerts/alerts.js';
import { loadConfig } from '../../src/config/load.js';
import { LocalStore } from '../../src/store/local/local-store.js';
import { assertRedisUp, dropPrefix, TEST_REDIS_URL, uniquePrefix } from '../contract/redis-helpers.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { startReceiver, type Receiver } from './receiver.js';

/**
 * Alert webhooks against a real HTTP receiver: every kind from the real app (pool exhausted by a
 * request, an account grok.com rejects, usable accounts and quota under their thresholds), the
 * rate limit per kind, the Slack and Discord shapes, a failing and a hanging receiver (the
 * request is answered regardless), and two instances on one Redis sending a shared alert once.
 */
const chat = (stack: Stack, content = 'hi') =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-chat-fast', messages: [{ role: 'user', content }] }),
  });

const alertConfig = (receiver: Receiver, over: Record<string, unknown> = {}) => ({
  alerts: { webhook_url: receiver.url, min_interval_sec: 3600, check_interval_sec: 0.2, retry_delay_sec: 0.05, timeout_sec: 2, ...over },
});

describe('alert webhooks', () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());
  afterEach(() => {
    receiver.hits.length = 0;
    receiver.mode = 'ok';
  });

  it('sends each kind once per interval: usable accounts low, pool exhausted, account invalid, quota low', async () => {
    const stack = await startStack({ overrides: alertConfig(receiver, { min_usable_accounts: 2, min_quota_left: 10 }) });
    onTestFinished(() => stack.close());
    const alerts = stack.runtime.services.alerts;

    // No account at all: fewer usable than 2, and a request finds nobody to serve it.
    await expect.poll(() => receiver.kinds()).toContain('usable_accounts_low');
    const res = await chat(stack);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_accounts');
    await expect.poll(() => receiver.kinds()).toContain('pool_exhausted');
    const exhausted = receiver.hits.find((h) => h.body.kind === 'pool_exhausted')!;
    expect(exhausted.headers['content-type']).toBe('application/json');
    expect(exhausted.body).toMatchObject({
      source: 'grok2api',
      severity: 'critical',
      title: 'The account pool is exhausted',
      details: { requests: 1, models: [{ model: 'grok-chat-fast', requests: 1, code: 'no_accounts' }] },
      suppressed: 0,
    });
    expect(typeof exhausted.body.instance).toBe('string');
    expect(Date.parse(exhausted.body.at)).not.toBeNaN();
    const usable = receiver.hits.find((h) => h.body.kind === 'usable_accounts_low')!.body;
    expect(usable).toMatchObject({ severity: 'critical', details: { usable: 0, threshold: 2, total: 0 } });

    // An account grok.com rejects: the request fails over to none, the account turns invalid, one alert names it.
    stack.fake.setAccount('alert-dead-token-1', { state: 'invalid' });
    const [dead] = await stack.importTokens(['alert-dead-token-1']);
    expect((await chat(stack)).status).toBeGreaterThanOrEqual(400);
    await expect.poll(() => receiver.kinds()).toContain('account_invalid');
    const invalid = receiver.hits.find((h) => h.body.kind === 'account_invalid')!.body;
    expect(invalid.title).toBe(`Account ${dead} became invalid`);
    expect(invalid.details.accounts[0]).toMatchObject({ id: dead, kind: 'grok' });
    expect(invalid.details.accounts[0].last_error).toMatch(/upstream_auth_failed/);
    expect(JSON.stringify(invalid)).not.toContain('alert-dead-token-1');

    // Quota: the known quota left in `fast` over usable accounts is 3, under 10.
    const [live] = await stack.importTokens(['alert-live-token-2']);
    await stack.runtime.services.store.setQuotas(live!, { fast: { remaining: 3, total: 80, windowSeconds: 7200, resetAt: Date.now() + 3_600_000 } });
    await expect.poll(() => receiver.kinds()).toContain('quota_low');
    expect(receiver.hits.find((h) => h.body.kind === 'quota_low')!.body).toMatchObject({ severity: 'warning', details: { threshold: 10, quota_left: { fast: 3 }, low: { fast: 3 } } });

    // Rate limit: more of every kind within min_interval_sec sends nothing more.
    await stack.runtime.services.store.markInvalid(live!, 'upstream_auth_failed: test');
    for (let i = 0; i < 5; i++) expect((await chat(stack, `again ${i}`)).status).toBe(503);
    for (let i = 0; i < 3; i++) await alerts.check();
    await alerts.idle();
    expect(receiver.kinds().sort()).toEqual(['account_invalid', 'pool_exhausted', 'quota_low', 'usable_accounts_low']);
    expect(alerts.sent).toEqual({ ok: 4, failed: 0 });
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    const count = (kind: string, result: string) => Number(new RegExp(`^grok2api_alerts_total\\{kind="${kind}",result="${result}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    for (const kind of ['pool_exhausted', 'account_invalid', 'usable_accounts_low', 'quota_low']) expect(count(kind, 'sent'), kind).toBe(1);
    expect(count('pool_exhausted', 'held')).toBe(5);
    expect(count('usable_accounts_low', 'held')).toBeGreaterThanOrEqual(3);
  });

  it('is a runtime setting: the webhook URL is masked in the settings API and a change applies at once', async () => {
    const stack = await startStack();
    onTestFinished(() => stack.close());
    const view = (await (await stack.admin('GET', '/admin/api/settings')).json()) as { alerts: Record<string, unknown> };
    expect(view.alerts).toMatchObject({ webhook_url: '', format: 'generic', min_interval_sec: 300, min_usable_accounts: 0, min_quota_left: 0 });
    const put = await stack.admin('PUT', '/admin/api/settings', { alerts: { webhook_url: receiver.url, format: 'discord' } });
    expect(put.status).toBe(200);
    expect(((await (await stack.admin('GET', '/admin/api/settings')).json()) as { alerts: Record<string, unknown> }).alerts).toMatchObject({ webhook_url: '***', format: 'discord' });
    expect((await stack.admin('PUT', '/admin/api/settings', { alerts: { format: 'teams' } })).status).toBe(400);
    expect((await chat(stack)).status).toBe(503);
    await expect.poll(() => receiver.hits.length).toBe(1);
    expect(receiver.hits[0]!.body.embeds[0].title).toBe('The account pool is exhausted');
  });

  it('retries a failing receiver a bounded number of times, and never holds up the request', async () => {
    receiver.mode = 500;
    const stack = await startStack({ overrides: alertConfig(receiver, { max_retries: 2 }) });
    onTestFinished(() => stack.close());
    const res = await chat(stack);
    expect(res.status).toBe(503);
    await expect.poll(() => stack.runtime.services.alerts.sent.failed).toBe(1);
    // The first try and two retries, then it gives up (logged).
    expect(receiver.kinds()).toEqual(['pool_exhausted', 'pool_exhausted', 'pool_exhausted']);
    expect(stack.logs.some((l) => l.includes('alert not delivered') && l.includes('HTTP 500'))).toBe(true);

    // A 4xx other than 429 is not retried: the URL or the body is wrong, trying again changes nothing.
    receiver.hits.length = 0;
    receiver.mode = 404;
    const other = await startStack({ overrides: alertConfig(receiver, { max_retries: 3 }) });
    onTestFinished(() => other.close());
    await chat(other);
    await expect.poll(() => other.runtime.services.alerts.sent.failed).toBe(1);
    expect(receiver.hits).toHaveLength(1);
  });

  it('answers the request while the receiver hangs', async () => {
    receiver.mode = 'hang';
    const stack = await startStack({ overrides: alertConfig(receiver, { timeout_sec: 30, max_retries: 0 }) });
    onTestFinished(() => stack.close());
    const res = await chat(stack);
    expect(res.status).toBe(503);
    await expect.poll(() => receiver.held.length).toBe(1);
    // The alert is still waiting for its answer, and the client has had its own.
    expect(stack.runtime.services.alerts.sent).toEqual({ ok: 0, failed: 0 });
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_accounts');
    // Closing the server abandons the delivery instead of waiting out its timeout.
    await stack.runtime.services.alerts.close();
    expect(stack.runtime.services.alerts.sent.failed).toBe(1);
  });

  it('speaks the Slack and Discord webhook shapes', async () => {
    for (const format of ['slack', 'discord'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'g2a-alerts-'));
      const store = new LocalStore({ dataDir: dir, flushDelayMs: 0 });
      await store.init();
      const config = loadConfig({ env: { DATA_DIR: dir }, overrides: alertConfig(receiver, { format, min_usable_accounts: 1 }) });
      const alerts = new AlertManager(store, () => config, pino({ level: 'silent' }), { instance: 'test-1' });
      await alerts.check();
      alerts.poolExhausted({ model: 'grok-4', code: 'no_available_tokens' });
      await alerts.idle();
      await alerts.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const [slackUsable, slackPool, discordUsable, discordPool] = receiver.hits.map((h) => h.body);
    expect(Object.keys(slackUsable)).toEqual(['text']);
    expect(slackUsable.text).toMatch(/^\*\[grok2api\] Usable accounts: 0, under 1\*\n.+\n_usable_accounts_low · test-1 · \d{4}-/);
    expect(slackPool.text).toContain('grok-4 (1, no_available_tokens)');
    expect(discordUsable).toMatchObject({ content: '[grok2api] Usable accounts: 0, under 1', embeds: [{ title: 'Usable accounts: 0, under 1', color: 0xd03030, footer: { text: 'usable_accounts_low · test-1' } }] });
    expect(Date.parse(discordUsable.embeds[0].timestamp)).not.toBeNaN();
    expect(discordPool.embeds[0].description).toContain('grok-4 (1, no_available_tokens)');
  });

  it('two instances on one Redis send a shared alert once', async () => {
    await assertRedisUp();
    const prefix = uniquePrefix('alerts');
    onTestFinished(() => dropPrefix(TEST_REDIS_URL, prefix));
    const overrides = { ...alertConfig(receiver), server: { storage_type: 'redis' }, redis: { url: TEST_REDIS_URL, prefix } };
    const one = await startStack({ overrides });
    onTestFinished(() => one.close());
    const two = await startStack({ overrides, fake: one.fake });
    onTestFinished(() => two.close());
    await Promise.all([chat(one), chat(two), chat(one), chat(two)]);
    await one.runtime.services.alerts.idle();
    await two.runtime.services.alerts.idle();
    // Both saw the pool exhausted; the store's "last sent" marker let one of them send.
    await expect.poll(() => receiver.kinds().filter((k) => k === 'pool_exhausted').length).toBe(1);
    await chat(two);
    await chat(one);
    await one.runtime.services.alerts.idle();
    await two.runtime.services.alerts.idle();
    expect(receiver.kinds().filter((k) => k === 'pool_exhausted')).toHaveLength(1);

    // Invalid accounts too: both instances look at the pool, the account is reported once.
    await one.runtime.services.store.importAccounts([{ token: 'alert-shared-dead-3' }]);
    const [acc] = await one.runtime.services.store.listAccounts();
    await two.runtime.services.store.markInvalid(acc!.id, 'upstream_auth_failed: shared');
    await Promise.all([one.runtime.services.alerts.check(), two.runtime.services.alerts.check()]);
    await Promise.all([one.runtime.services.alerts.check(), two.runtime.services.alerts.check()]);
    await expect.poll(() => receiver.kinds().filter((k) => k === 'account_invalid').length).toBe(1);
    await one.runtime.services.alerts.idle();
    await two.runtime.services.alerts.idle();
    expect(receiver.kinds().filter((k) => k === 'account_invalid')).toHaveLength(1);
  });
});
