/**
 * The console's Logs page in Debian's Chromium (playwright-core) against the real server and the
 * fake grok.com: filters the request log, pages through it, shows a bad filter next to its field,
 * exports the filtered log as CSV and JSON Lines (real downloads through the session cookie) and
 * shows the per-key usage. Screenshot as in admin-ui.test.ts (docs/screenshots/logs.png with
 * UPDATE_SCREENSHOTS=1).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, API_KEY, startStack, type Stack } from '../helpers/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/screenshots') : mkdtempSync(join(tmpdir(), 'g2a-shots-'));

let stack: Stack;
let context: BrowserContext;
let page: Page;
let profile: string;
let downloads: string;
let key: { id: string; key: string };

const chat = (secret: string, model = 'grok-4') =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'a browser prompt' }] }),
  });

const rows = () => page.locator('#log-table tbody tr');
/** Waits for the page to show it (generous: the machine may be busy; never a timing assertion). */
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 50 });

beforeAll(async () => {
  stack = await startStack({ overrides: { grok: { chat_transport: 'rest' } } });
  await stack.importTokens(['tok-ui-logs-1']);
  key = await (await stack.admin('POST', '/admin/api/keys', { name: 'browser-logs', models: ['grok-4'] })).json();
  expect((await chat(key.key)).status).toBe(200);
  expect((await chat(key.key)).status).toBe(200);
  expect((await chat(key.key, 'grok-3')).status).toBe(403);
  expect((await chat(API_KEY)).status).toBe(200);
  mkdirSync(SHOTS, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'g2a-chromium-'));
  downloads = mkdtempSync(join(tmpdir(), 'g2a-downloads-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await context.newPage();
});

afterAll(async () => {
  await context?.close();
  await stack?.close();
  for (const dir of [profile, downloads]) if (dir) rmSync(dir, { recursive: true, force: true });
});

async function download(id: string): Promise<{ name: string; text: string }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.locator(id).click()]);
  const file = join(downloads, d.suggestedFilename());
  await d.saveAs(file);
  return { name: d.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

describe('Logs page in Chromium', () => {
  it('filters the request log, pages through it and exports the filtered entries', async () => {
    await page.goto(`${stack.url}/admin`);
    await page.locator('input[name=password]').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByRole('link', { name: 'Logs', exact: true }).click();
    await page.getByRole('heading', { name: 'Request log' }).waitFor();
    await poll(() => rows().count()).toBe(4);

    // Status class: only the 403.
    await page.locator('#log-status').fill('4xx');
    await page.locator('#log-apply').click();
    await poll(() => rows().count()).toBe(1);
    expect(await rows().first().innerText()).toContain('403');
    // The filters are in the address, so a filtered view can be shared or reloaded.
    expect(page.url()).toContain('#/logs?status=4xx');

    // A bad filter is shown next to its field, with the server's message.
    await page.locator('#log-status').fill('abc');
    await page.locator('#log-apply').click();
    await poll(() => page.locator('#field-status .err').innerText()).toMatch(/'status' must be a status code/);
    expect(await page.locator('#field-status').getAttribute('class')).toContain('invalid');

    // By key: its three requests; exported as CSV and JSON Lines with the same filter.
    await page.locator('#log-status').fill('');
    await page.locator('#log-key').selectOption(key.id);
    await page.locator('#log-apply').click();
    await poll(() => rows().count()).toBe(3);
    expect(await page.locator('#field-status .err').innerText()).toBe('');
    await shot('logs');
    const csv = await download('#log-export-csv');
    expect(csv.name).toMatch(/^request-log-.*\.csv$/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^time,method,route,model,key_id,key_name,/);
    expect(lines).toHaveLength(4);
    for (const line of lines.slice(1)) expect(line).toContain(`,${key.id},browser-logs,`);
    const jsonl = await download('#log-export-jsonl');
    expect(jsonl.name).toMatch(/\.jsonl$/);
    const entries = jsonl.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { key_id: string; status: number });
    expect(entries.map((e) => e.status)).toEqual([403, 200, 200]);
    expect(entries.every((e) => e.key_id === key.id)).toBe(true);
    for (const text of [csv.text, jsonl.text]) {
      for (const secret of ['a browser prompt', 'tok-ui-logs-1', key.key, API_KEY]) expect(text).not.toContain(secret);
    }

    // Pages: 30 more entries, 25 a page; Older opens the rest, Newer goes back.
    const t = Date.now() - 60_000;
    for (let i = 0; i < 30; i++) stack.runtime.services.stats.record({ time: t + i, method: 'GET', route: '/v1/models', model: null, key: null, keyId: null, account: null, status: 200, ms: 1, tokens: null });
    await page.locator('#log-reset').click();
    await page.locator('#log-limit').selectOption('25');
    await poll(() => rows().count()).toBe(25);
    expect(await page.locator('#log-older').isDisabled()).toBe(false);
    await page.locator('#log-older').click();
    await poll(() => rows().count()).toBe(9);
    expect(await page.locator('#log-older').isDisabled()).toBe(true);
    expect(await page.locator('#log-page').innerText()).toMatch(/^page 2/);
    await page.locator('#log-newer').click();
    await poll(() => rows().count()).toBe(25);
  });

  it('shows the usage per API key, and a key opens its requests in the log', async () => {
    const row = page.locator(`#usage-totals tbody tr[data-key="${key.id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    expect(cells.slice(0, 3)).toEqual(['browser-logs', '3', '1']);
    expect(Number(cells[3]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(await page.locator(`#usage-totals tbody tr[data-key="API_KEY"] td`).first().innerText()).toBe('API_KEY');
    await row.getByRole('link', { name: 'browser-logs' }).click();
    await poll(() => rows().count()).toBe(3);
    expect(await page.locator('#log-key').inputValue()).toBe(key.id);
  });
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
