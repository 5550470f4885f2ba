// Logs: the request log with filters (time range, model, key, account, status, route), pages
// (a cursor per page, newest first), CSV / JSON Lines export of the filtered log, and the
// per-key usage history (requests, tokens, cost per key per day).
import { api } from './api.js';
import { requestChart } from './chart.js';
import { clear, fmtNum, h, rel, toast } from './dom.js';

const fmtUsd = (v) => (v ? `$${v < 0.01 ? v.toFixed(6) : v.toFixed(2)}` : '–');
const day = (d) => d.toISOString().slice(0, 10);
/** datetime-local value (local time) ↔ ISO. */
const toIso = (local) => (local ? new Date(local).toISOString() : '');
const FILTERS = ['from', 'to', 'model', 'key', 'account', 'status', 'route'];

export async function render(main) {
  const keys = (await api('GET', '/admin/api/keys').catch(() => ({ keys: [] }))).keys ?? [];
  const keyName = new Map(keys.map((k) => [k.id, k.name]));

  // ---- filters ----
  const initial = new URLSearchParams((location.hash.split('?')[1] || ''));
  const input = (name, attrs) => h('input', { name, id: `log-${name}`, value: initial.get(name) || '', ...attrs });
  const fields = {
    from: h('input', { name: 'from', id: 'log-from', type: 'datetime-local', step: 1 }),
    to: h('input', { name: 'to', id: 'log-to', type: 'datetime-local', step: 1 }),
    model: input('model', { placeholder: 'any' }),
    key: h('select', { name: 'key', id: 'log-key', value: initial.get('key') || '' },
      h('option', { value: '' }, 'any'),
      keys.map((k) => h('option', { value: k.id }, `${k.name} (${k.id})`)),
      h('option', { value: 'API_KEY' }, 'API_KEY (config keys)')),
    account: input('account', { placeholder: 'account id' }),
    status: input('status', { placeholder: '429 or 4xx', list: 'log-statuses', size: 8 }),
    route: input('route', { placeholder: '/v1/chat/completions', list: 'log-routes' }),
  };
  const errors = Object.fromEntries(FILTERS.map((f) => [f, h('span', { class: 'err' })]));
  const field = (name, label) => h('label', { class: 'field', id: `field-${name}` }, h('span', {}, label), fields[name], errors[name]);
  const pageSize = h('select', { id: 'log-limit', value: initial.get('limit') || '50' }, ['25', '50', '100', '500'].map((n) => h('option', { value: n }, n)));

  const filterValues = () => {
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const raw = fields[f].value.trim();
      if (!raw) continue;
      // `to` is inclusive: the whole second the field shows (it has no milliseconds).
      q.set(f, f === 'from' ? toIso(raw) : f === 'to' ? new Date(Date.parse(toIso(raw)) + 999).toISOString() : raw);
    }
    return q;
  };

  // ---- results ----
  const result = h('div', {});
  const pageInfo = h('span', { class: 'muted small', id: 'log-page' });
  const newer = h('button', { id: 'log-newer', disabled: true, onclick: () => go(-1) }, '← Newer');
  const older = h('button', { id: 'log-older', disabled: true, onclick: () => go(1) }, 'Older →');
  // cursors[i] = the cursor that opens page i (null for the first).
  let cursors = [null];
  let at = 0;
  let loads = 0;

  // Same-origin downloads (the session cookie goes along; the server streams and names the file).
  const exportHref = (format) => `/admin/api/logs/export?${new URLSearchParams([...filterValues(), ['format', format]])}`;
  const exportLinks = ['csv', 'jsonl'].map((format) => h('a', { class: 'button-link', id: `log-export-${format}`, download: '', href: exportHref(format),
    onclick: (e) => { e.currentTarget.href = exportHref(format); } }, `Export ${format.toUpperCase()}`));

  async function load() {
    for (const f of FILTERS) { errors[f].textContent = ''; document.getElementById(`field-${f}`)?.classList.remove('invalid'); }
    const q = filterValues();
    const shown = new URLSearchParams(q);
    if (pageSize.value !== '50') shown.set('limit', pageSize.value);
    history.replaceState(null, '', `#/logs${shown.size ? `?${shown}` : ''}`);
    q.set('limit', pageSize.value);
    if (cursors[at]) q.set('cursor', cursors[at]);
    // Only the newest request's answer is shown (an older one may arrive after it).
    const mine = ++loads;
    let page;
    try {
      page = await api('GET', `/admin/api/logs?${q}`);
      if (mine !== loads) return;
    } catch (e) {
      if (mine !== loads) return;
      if (e.param && errors[e.param]) {
        errors[e.param].textContent = e.message;
        document.getElementById(`field-${e.param}`)?.classList.add('invalid');
      } else toast(e.message, 'error');
      return;
    }
    cursors = cursors.slice(0, at + 1);
    if (page.next_cursor) cursors[at + 1] = page.next_cursor;
    newer.disabled = at === 0;
    older.disabled = !page.has_more;
    pageInfo.textContent = `page ${at + 1} · ${page.logs.length} request${page.logs.length === 1 ? '' : 's'}${page.has_more ? ', more older' : ''}`;
    clear(result, page.logs.length === 0
      ? h('p', { class: 'muted', id: 'log-empty' }, 'No requests match these filters.')
      : h('div', { class: 'table-wrap' }, h('table', { id: 'log-table' },
        h('thead', {}, h('tr', {}, ['Time', 'Route', 'Model', 'Key', 'Account', 'Status', 'Duration', 'Tokens (prompt / completion)', 'Cost'].map((c) => h('th', {}, c)))),
        h('tbody', {}, page.logs.map((r) => h('tr', {},
          h('td', { title: r.time }, `${new Date(r.time).toLocaleString()} (${rel(r.time)})`),
          h('td', { class: 'mono' }, `${r.method} ${r.route}`),
          h('td', {}, r.model ?? '–'),
          h('td', { title: r.key_id ?? '' }, r.key_name ?? '–'),
          h('td', { class: 'mono' }, r.account_id ?? '–'),
          h('td', {}, h('span', { class: `badge ${r.status < 400 ? 'active' : 'invalid'}` }, String(r.status))),
          h('td', {}, `${fmtNum(r.duration_ms)} ms`),
          h('td', {}, r.prompt_tokens === null && r.completion_tokens === null ? fmtNum(r.tokens) : `${fmtNum(r.tokens)} (${fmtNum(r.prompt_tokens)} / ${fmtNum(r.completion_tokens)})`),
          h('td', { title: r.cost_estimated ? 'priced on estimated token counts' : '' }, `${r.cost_estimated && r.cost_usd ? '≈' : ''}${fmtUsd(r.cost_usd)}`)))))));
  }
  const go = (step) => { at = Math.max(0, at + step); void load(); };
  const apply = () => { cursors = [null]; at = 0; void load(); };

  const form = h('form', { id: 'log-filters', onsubmit: (e) => { e.preventDefault(); apply(); } },
    h('div', { class: 'inline-fields' },
      field('from', 'From'), field('to', 'To'), field('model', 'Model'), field('key', 'API key'),
      field('account', 'Account'), field('status', 'Status'), field('route', 'Route')),
    h('div', { class: 'row' },
      h('button', { class: 'primary', type: 'submit', id: 'log-apply' }, 'Apply'),
      h('button', { type: 'button', id: 'log-reset', onclick: () => { for (const f of FILTERS) fields[f].value = ''; apply(); } }, 'Reset'),
      h('span', { class: 'small muted' }, 'Per page'), pageSize,
      h('span', { class: 'spacer' }),
      exportLinks));
  form.addEventListener('input', () => exportLinks.forEach((a, i) => (a.href = exportHref(i ? 'jsonl' : 'csv'))));
  pageSize.addEventListener('change', apply);
  for (const f of ['from', 'to']) {
    const v = initial.get(f);
    if (v && !Number.isNaN(Date.parse(v))) {
      const d = new Date(v);
      fields[f].value = new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    }
  }

  // ---- per-key usage per day ----
  const today = new Date();
  const usageFrom = h('input', { type: 'date', id: 'usage-from', value: day(new Date(today.getTime() - 13 * 86_400_000)) });
  const usageTo = h('input', { type: 'date', id: 'usage-to', value: day(today) });
  const usageKey = h('select', { id: 'usage-key' }, h('option', { value: '' }, 'every key'), keys.map((k) => h('option', { value: k.id }, k.name)), h('option', { value: 'API_KEY' }, 'API_KEY'));
  const usageBody = h('div', {});
  let usageLoads = 0;
  async function loadUsage() {
    const q = new URLSearchParams({ from: usageFrom.value, to: usageTo.value });
    if (usageKey.value) q.set('key', usageKey.value);
    const mine = ++usageLoads;
    let u;
    try {
      u = await api('GET', `/admin/api/usage/keys?${q}`);
    } catch (e) {
      return void (mine === usageLoads && toast(e.message, 'error'));
    }
    if (mine !== usageLoads) return;
    // Requests per day over the range (gaps filled), for the chart.
    const perDay = new Map();
    for (const d of u.days) {
      const p = perDay.get(d.date) ?? { success: 0, failed: 0 };
      p.success += d.success;
      p.failed += d.failed;
      perDay.set(d.date, p);
    }
    const points = [];
    for (let t = Date.parse(`${u.from}T00:00:00Z`); t <= Date.parse(`${u.to}T00:00:00Z`); t += 86_400_000) {
      const date = new Date(t).toISOString().slice(0, 10);
      points.push({ label: date.slice(5), ...(perDay.get(date) ?? { success: 0, failed: 0 }) });
    }
    const name = (r) => r.key_name ?? keyName.get(r.key_id) ?? r.key_id;
    const cols = ['Key', 'Requests', 'Failed', 'Prompt tokens', 'Completion tokens', 'Cost'];
    const cells = (r) => [
      h('td', { title: r.key_id }, h('a', { href: '#', onclick: (e) => { e.preventDefault(); fields.key.value = r.key_id; apply(); } }, name(r))),
      h('td', {}, fmtNum(r.requests)), h('td', {}, fmtNum(r.failed)),
      h('td', {}, fmtNum(r.prompt_tokens)), h('td', {}, fmtNum(r.completion_tokens)),
      h('td', { title: r.cost_estimated_usd ? `${fmtUsd(r.cost_estimated_usd)} priced on estimated token counts` : '' }, `${r.cost_estimated_usd && r.cost_estimated_usd >= r.cost_usd ? '≈' : ''}${fmtUsd(r.cost_usd)}`),
    ];
    clear(usageBody, u.days.length === 0
      ? h('p', { class: 'muted', id: 'usage-empty' }, 'No requests with an API key in this range.')
      : [
        h('div', { style: { maxWidth: '720px' } }, requestChart(points, { height: 160 })),
        h('h3', {}, `Per key, ${u.from} to ${u.to}`),
        h('div', { class: 'table-wrap' }, h('table', { id: 'usage-totals' },
          h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
          h('tbody', {}, u.keys.map((r) => h('tr', { 'data-key': r.key_id }, cells(r)))))),
        h('h3', {}, 'Per key per day'),
        h('div', { class: 'table-wrap' }, h('table', { id: 'usage-days' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Day'), cols.map((c) => h('th', {}, c)))),
          h('tbody', {}, [...u.days].reverse().map((r) => h('tr', {}, h('td', {}, r.date), cells(r)))))),
      ]);
  }
  for (const el of [usageFrom, usageTo, usageKey]) el.addEventListener('change', () => void loadUsage());

  clear(main,
    h('div', { class: 'row' }, h('h1', {}, 'Request log')),
    h('section', { class: 'panel' },
      h('p', { class: 'muted small' }, 'Route, model, key name and id, account, status, duration, tokens and cost only: prompts, answers, tokens and keys are never logged. Kept: the newest log.recent_requests requests, none older than log.retention_days (Settings).'),
      form,
      h('datalist', { id: 'log-statuses' }, ['2xx', '4xx', '5xx', '400', '401', '403', '429', '499', '502', '503'].map((v) => h('option', { value: v }))),
      h('datalist', { id: 'log-routes' }, ['/v1/chat/completions', '/v1/responses', '/v1/messages', '/v1/images/generations', '/v1/images/edits', '/v1/video/tasks', '/v1/videos'].map((v) => h('option', { value: v })))),
    h('section', { class: 'panel' }, h('div', { class: 'row' }, newer, older, pageInfo), result),
    h('section', { class: 'panel', id: 'usage' },
      h('h2', {}, 'Usage per API key'),
      h('div', { class: 'row' }, h('span', { class: 'small muted' }, 'From'), usageFrom, h('span', { class: 'small muted' }, 'to'), usageTo, usageKey),
      usageBody));
  await Promise.all([load(), loadUsage()]);
}
