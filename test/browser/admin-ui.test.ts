/**
 * The admin console in a real browser: Debian's Chromium driven by playwright-core, against the
 * real server and the fake grok.com. Takes a 1280×800 screenshot of every page: into a temp folder
 * on ordinary runs, and into docs/screenshots/ (the README's) with `UPDATE_SCREENSHOTS=1`, so a
 * test run does not rewrite committed images. `.ci/run` installs chromium when it is missing.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { ADMIN_KEY, API_KEY, startStack, type Stack } from '../helpers/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/screenshots') : mkdtempSync(join(tmpdir(), 'g2a-shots-'));

let stack: Stack;
let context: BrowserContext;
let page: Page;
let profile: string;

/** Whether this build registered an admin route (other issues add some of them). */
async function routeExists(method: string, path: string): Promise<boolean> {
  const res = await stack.admin(method, path, method === 'GET' ? undefined : {});
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return !(res.status === 404 && /^Unknown route/.test(body?.error?.message ?? ''));
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

beforeAll(async () => {
  stack = await startStack();
  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'g2a-chromium-'));
  // A fresh profile per run (launchPersistentContext is how playwright takes a user-data-dir).
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
});

afterAll(async () => {
  await context?.close();
  await stack?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('admin console in Chromium', () => {
  it('refuses a wrong password, then logs in with the admin key', async () => {
    await page.goto(`${stack.url}/admin`);
    await page.locator('input[name=password]').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong admin password').waitFor();
    await shot('login');
    await page.locator('input[name=password]').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'g2a_admin')!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Strict');
  });

  it('imports tokens and lists them with their quotas', async () => {
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.locator('#import-tokens').fill('sso=tok-ui-basic-1\ntok-ui-basic-2\ntok-ui-basic-1\n\n');
    await page.locator('#import-tags').fill('team-a');
    await page.locator('#import-button').click();
    await expect.poll(() => page.locator('#import-result').textContent()).toContain('2 added, 1 already present');
    await page.locator('#accounts-table tbody tr').nth(1).waitFor();
    expect(await page.locator('#accounts-table tbody tr').count()).toBe(2);

    if (await routeExists('POST', '/admin/api/tokens/refresh')) {
      await page.getByRole('button', { name: 'Refresh quotas' }).click();
    } else {
      // Quota sync is not in this build: give the accounts the windows grok.com would report,
      // so the page's rendering of them is still exercised.
      const resetAt = Date.now() + 2 * 3600_000;
      for (const a of await stack.runtime.services.store.listAccounts()) {
        await stack.runtime.services.store.setQuotas(a.id, { fast: { remaining: 42, total: 60, windowSeconds: 7200, resetAt }, auto: { remaining: 3, total: 20, windowSeconds: 7200, resetAt } });
      }
      await page.reload();
    }
    await page.locator('#accounts-table .quota .q').first().waitFor();
    const quotaText = await page.locator('#accounts-table tbody tr').first().locator('.quota').innerText();
    expect(quotaText).toMatch(/fast\s+\d+\/\d+/);
    await shot('accounts');
  });

  it("runs the doctor on an account and shows each layer's verdict", async () => {
    const row = page.locator('#accounts-table tbody tr').first();
    await row.getByRole('button', { name: 'Doctor' }).click();
    const report = page.locator('#doctor-report');
    await report.waitFor();
    expect(await report.locator('tbody tr').count()).toBe(8);
    expect(await report.locator('tr[data-layer=chat_ws] .badge').innerText()).toBe('ok');
    expect(await report.innerText()).toContain('OK');
    await shot('doctor');
    await report.getByRole('button', { name: 'Close' }).click();
    await report.waitFor({ state: 'detached' });
  });

  it('shows when an account last failed, exports the accounts and deletes the invalid ones by status', async () => {
    const [dead] = await stack.importTokens(['tok-ui-dead-3']);
    await stack.runtime.services.store.markInvalid(dead!, 'upstream_auth_failed: grok.com answered 401');
    await page.reload();
    const row = page.locator(`#accounts-table tbody tr[data-id="${dead}"]`);
    await row.waitFor();
    // The reason (cut to 40 characters) and how long ago; the whole reason and the time on hover.
    expect(await row.locator('.last-error').innerText()).toMatch(/^upstream_auth_failed: grok\.com answered …? · \d+ \w+ ago$/);
    expect(await row.locator('.last-error').getAttribute('title')).toMatch(/^upstream_auth_failed: grok\.com answered 401\n.+\d/);

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-masked').click()]);
    expect(download.suggestedFilename()).toMatch(/^grok2api-accounts-\d{4}-\d\d-\d\d\.json$/);
    const file = join(SHOTS, '..', `export-${Date.now()}.json`);
    await download.saveAs(file);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as { secrets: boolean; accounts: { id: string; token: string }[] };
    rmSync(file, { force: true });
    expect(exported.secrets).toBe(false);
    expect(exported.accounts.map((a) => a.id)).toContain(dead);
    expect(JSON.stringify(exported)).not.toContain('tok-ui-dead-3');

    await page.locator('#purge-status').selectOption('invalid');
    await page.locator('#purge-button').click();
    await row.waitFor({ state: 'detached' });
    expect(await page.locator('#accounts-table tbody tr').count()).toBe(2);
    expect(await stack.runtime.services.store.getAccount(dead!)).toBeNull();
  });

  it('shows each egress with its health, accounts and traffic', async () => {
    await page.getByRole('link', { name: 'Egress' }).click();
    const direct = page.locator('#egress-table tr[data-id=direct]');
    await direct.waitFor();
    expect(await direct.locator('.badge').innerText()).toBe('healthy');
    await shot('egress');
  });

  it('creates a key, shows the secret once, and the key works against /v1/chat/completions', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.locator('#key-form input[name=name]').fill('browser-key');
    await page.locator('#key-form input[name=rpm]').fill('2');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('#new-secret').textContent())!;
    expect(secret).toMatch(/^sk-g2a-/);
    await page.locator('#keys-table tr', { hasText: 'browser-key' }).waitFor();
    await shot('keys');

    const call = () =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'hi from the browser test' }] }),
      });
    const ok = await call();
    expect(ok.status).toBe(200);
    expectValid('CreateChatCompletionResponse', await ok.json());
    expect((await call()).status).toBe(200);
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);

    // The server-side validation error lands next to its field.
    await page.locator('#key-form input[name=name]').fill('bad-model');
    await page.locator('#key-form input[name=models]').fill('no-such-model');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => page.locator('.field[data-name=models] .err').textContent()).toContain('no-such-model');

    // A key limited to providers from the form: listed with them, and refused a model only another provider serves.
    await page.locator('#key-form input[name=name]').fill('xai-key');
    await page.locator('#key-form input[name=models]').fill('');
    await page.locator('#key-form input[name=providers]').fill('xai');
    await page.getByRole('button', { name: 'Create key' }).click();
    await expect.poll(() => page.locator('#new-secret').textContent()).not.toBe(secret);
    const xaiSecret = (await page.locator('#new-secret').textContent())!;
    await expect.poll(() => page.locator('#keys-table tr', { hasText: 'xai-key' }).textContent()).toContain('xai');
    const refused = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${xaiSecret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-3', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(refused.status).toBe(403);

    // Revoking from the page stops the key at once.
    await page.locator('#keys-table tr', { hasText: 'browser-key' }).getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => page.locator('#keys-table tr', { hasText: 'browser-key' }).count()).toBe(0);
    expect((await call()).status).toBe(401);
  });

  it('shows requests, success rate and account health on the dashboard', async () => {
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('svg.chart').first().waitFor();
    // Bars with a height: this hour's requests (the key test's, the 429 included) are drawn.
    await expect.poll(() => page.locator('svg.chart rect').evaluateAll((els) => els.filter((e) => Number(e.getAttribute('height')) > 0).length)).toBeGreaterThan(0);
    const cards = await page.locator('.cards').innerText();
    expect(cards).toMatch(/Requests \(24 h\)\s+\d+/i);
    await page.getByText('browser-key').first().waitFor();
    await shot('dashboard');
  });

  it('changes a setting and the server applies it', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    if (!(await routeExists('GET', '/admin/api/settings'))) {
      await page.locator('#not-available').waitFor();
      await shot('settings');
      return;
    }
    const field = page.locator('input[name="token.max_concurrency_per_account"]');
    await field.waitFor();
    await field.fill('0');
    await page.locator('#settings-save').click();
    await page.locator('.field[data-name="token.max_concurrency_per_account"] .err').filter({ hasText: /./ }).waitFor();
    await field.fill('7');
    await page.locator('#settings-save').click();
    await expect.poll(() => stack.runtime.services.config().token.max_concurrency_per_account).toBe(7);
    const res = (await (await stack.admin('GET', '/admin/api/settings')).json()) as Record<string, Record<string, unknown>>;
    expect((res.settings as typeof res | undefined ?? res).token!.max_concurrency_per_account).toBe(7);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('settings');
  });

  it('follows a video task to completion and shows the media cache (or says they are not in this build)', async () => {
    const videoRoutes = (await routeExists('GET', '/admin/api/video/tasks')) && stack.app.hasRoute({ method: 'POST', url: '/v1/video/tasks' });
    await page.getByRole('link', { name: 'Video tasks' }).click();
    if (videoRoutes) {
      const res = await fetch(`${stack.url}/v1/video/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a lighthouse at dusk, waves rolling in' }),
      });
      expect(res.status).toBe(200);
      const { task_id } = (await res.json()) as { task_id: string };
      const row = page.locator(`#tasks-table tr[data-id="${task_id}"]`);
      // The page polls: the row appears, reaches 'completed' and offers the video.
      await row.locator('.badge', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
      const href = await row.getByRole('link', { name: 'Open video' }).getAttribute('href');
      const video = await fetch(href!);
      expect(video.status).toBe(200);
      expect(video.headers.get('content-type')).toMatch(/^video\//);
    } else {
      await page.locator('#not-available').waitFor();
    }
    await shot('video-tasks');
    await page.getByRole('link', { name: 'Media cache' }).click();
    await page.locator('.cards').or(page.locator('#not-available')).first().waitFor();
    await shot('media-cache');
    if (videoRoutes) {
      // The finished video is in the cache; clearing it from the page empties it.
      expect(await page.locator('.card', { hasText: 'video' }).locator('[data-key=files]').innerText()).toMatch(/files: 1/);
      await page.getByRole('button', { name: 'Clear cache' }).click();
      await expect.poll(() => page.locator('.card', { hasText: 'video' }).locator('[data-key=files]').innerText()).toMatch(/files: 0/);
    }
  });

  it('signs out, after which the admin API refuses the old page', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[name=password]').waitFor();
    const status = await page.evaluate(async () => (await fetch('/admin/api/keys')).status);
    expect(status).toBe(401);
  });
});
