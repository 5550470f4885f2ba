// Dashboard: request volume and success rate (24 h and 7 days), account health, top models,
// accounts and keys, and the recent-request log.
import { api } from './api.js';
import { healthBar, requestChart } from './chart.js';
import { clear, fmtNum, fmtPct, h, rel } from './dom.js';

const hourLabel = (iso) => `${new Date(iso).getHours().toString().padStart(2, '0')}:00`;

function table(rows, cols) {
  if (!rows.length) return h('p', { class: 'muted' }, 'No requests yet.');
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c[0])))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, c[1](r))))))));
}

/** USD from the price table ([[prices]]); '–' when nothing was priced. */
const fmtUsd = (v) => (v ? `$${v < 0.01 ? v.toFixed(6) : v.toFixed(2)}` : '–');
/** A cost with its estimated part (priced on the server's token estimate: grok.com turns) marked. */
const fmtCost = (usd, estimated) => {
  if (!usd || !estimated) return fmtUsd(usd);
  const title = estimated >= usd ? 'priced on estimated token counts' : `${fmtUsd(estimated)} of it priced on estimated token counts`;
  return h('span', { title }, `${estimated >= usd ? '≈' : ''}${fmtUsd(usd)}${estimated < usd ? ' (part est.)' : ''}`);
};

const usageCols = (name, key) => [
  [name, (r) => h('span', { class: 'mono' }, r[key])],
  ['Requests', (r) => fmtNum(r.total)],
  ['Success', (r) => fmtPct(r.success_rate)],
  ['Avg latency', (r) => (r.avg_latency_ms === null ? '–' : `${fmtNum(r.avg_latency_ms)} ms`)],
  ['Tokens', (r) => fmtNum(r.tokens)],
  ['Cost', (r) => fmtCost(r.cost_usd, r.cost_estimated_usd)],
];

export async function render(main) {
  const body = h('div', {});
  clear(main, h('div', { class: 'row' }, h('h1', {}, 'Dashboard'), h('span', { class: 'muted small', id: 'updated' })), body);
  const load = async () => {
    const [stats, logs] = await Promise.all([api('GET', '/admin/api/stats'), api('GET', '/admin/api/logs?limit=50')]);
    const day = stats.hourly.reduce((a, b) => ({ total: a.total + b.total, success: a.success + b.success }), { total: 0, success: 0 });
    const accountsTotal = Object.values(stats.accounts_by_status).reduce((a, b) => a + b, 0);
    clear(body,
      h('div', { class: 'cards' },
        card('Requests (24 h)', fmtNum(day.total)),
        card('Success rate (24 h)', day.total ? fmtPct(day.success / day.total) : '–'),
        card('Avg latency', stats.summary.avg_latency_ms === null ? '–' : `${fmtNum(stats.summary.avg_latency_ms)} ms`),
        card('Usable accounts', `${stats.accounts_by_status.active} / ${accountsTotal}`),
        card('Requests (all time)', fmtNum(stats.summary.total))),
      h('div', { class: 'grid2' },
        h('section', { class: 'panel' }, h('h2', {}, 'Requests per hour (24 h)'),
          requestChart(stats.hourly.map((p) => ({ label: hourLabel(p.hour), success: p.success, failed: p.failed })))),
        h('section', { class: 'panel' }, h('h2', {}, 'Requests per day (7 days)'),
          requestChart(stats.daily.map((p) => ({ label: p.date.slice(5), success: p.success, failed: p.failed }))))),
      h('section', { class: 'panel' }, h('h2', {}, 'Account health'), healthBar(stats.accounts_by_status)),
      h('div', { class: 'grid2' },
        h('section', { class: 'panel' }, h('h2', {}, 'By model'), table(stats.models.slice(0, 10), usageCols('Model', 'model'))),
        h('section', { class: 'panel' }, h('h2', {}, 'By API key'), table(stats.keys.slice(0, 10), usageCols('Key', 'key_name')))),
      h('section', { class: 'panel' }, h('h2', {}, 'By account'), table(stats.accounts.slice(0, 10), usageCols('Account', 'account_id'))),
      h('section', { class: 'panel' }, h('h2', {}, 'Recent requests'),
        h('p', { class: 'muted small' }, 'Route, model, key name, account, status, duration and tokens only: prompts, answers and secrets are never logged. ',
          h('a', { href: '#/logs' }, 'Filter, page and export the whole log in Logs')),
        table(logs.logs, [
          ['Time', (r) => h('span', { title: r.time }, rel(r.time))],
          ['Route', (r) => h('span', { class: 'mono' }, `${r.method} ${r.route}`)],
          ['Model', (r) => r.model ?? '–'],
          ['Key', (r) => r.key_name ?? '–'],
          ['Account', (r) => h('span', { class: 'mono' }, r.account_id ?? '–')],
          ['Status', (r) => h('span', { class: `badge ${r.status < 400 ? 'active' : 'invalid'}` }, String(r.status))],
          ['Duration', (r) => `${fmtNum(r.duration_ms)} ms`],
          ['Tokens', (r) => fmtNum(r.tokens)],
          ['Cost', (r) => fmtCost(r.cost_usd, r.cost_estimated ? r.cost_usd : 0)],
        ])));
    const u = document.getElementById('updated');
    if (u) u.textContent = `updated ${new Date().toLocaleTimeString()}`;
  };
  await load();
  const timer = setInterval(() => load().catch(() => {}), 10_000);
  return () => clearInterval(timer);
}

function card(label, value) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}
