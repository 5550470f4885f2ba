// Egress: each way out to grok.com (direct, grok.proxy_url, grok.egress_proxies) with its health,
// bound accounts, open connections, failures, traffic and the Cloudflare state held for it.
import { api } from './api.js';
import { clear, fmtBytes, fmtNum, h, rel } from './dom.js';

function cloudflare(cf) {
  if (!cf.cookies.length) return h('span', { class: 'muted small' }, 'no cookies yet');
  return h('div', {},
    cf.cookies.map((c) => h('span', { class: 'tag mono' }, c)),
    cf.userAgent ? h('div', { class: 'small muted', title: cf.userAgent }, `UA ${cf.userAgent.slice(0, 48)}${cf.userAgent.length > 48 ? '…' : ''}`) : null,
    cf.solvedAt ? h('div', { class: 'small muted' }, `solved ${rel(cf.solvedAt)}`) : null);
}

export async function render(main) {
  const body = h('div', {});
  const head = h('p', { class: 'muted' });
  clear(main, h('div', { class: 'row' }, h('h1', {}, 'Egress'), h('span', { class: 'muted small', id: 'updated' })), head, body);
  const load = async () => {
    const r = await api('GET', '/admin/api/egress');
    head.textContent = `Every grok.com request goes out through one of these (transport: ${r.transport}). Each account sticks to one egress and moves to another when its egress fails. `
      + 'Edit the list under Settings: grok.proxy_url and grok.egress_proxies (proxy passwords are shown as ***).';
    clear(body, h('section', { class: 'panel' }, h('div', { class: 'table-wrap' }, h('table', { id: 'egress-table' },
      h('thead', {}, h('tr', {}, ['Egress', 'Health', 'Accounts', 'Open', 'Failures', 'Last error', 'Traffic in / out', 'Cloudflare'].map((t) => h('th', {}, t)))),
      h('tbody', {}, r.egress.map((e) => h('tr', { 'data-id': e.id },
        h('td', {}, h('div', { class: 'mono' }, e.url), e.id !== e.url ? h('div', { class: 'muted small mono' }, e.id) : null),
        h('td', {}, h('span', { class: `badge ${e.healthy ? 'active' : 'invalid'}` }, e.healthy ? 'healthy' : 'down')),
        h('td', {}, fmtNum(e.accounts)),
        h('td', {}, fmtNum(e.openConnections)),
        h('td', {}, fmtNum(e.failures), e.antiBotRefreshes ? h('div', { class: 'small muted' }, `${fmtNum(e.antiBotRefreshes)} anti-bot refreshes`) : null),
        h('td', { class: 'small' }, e.lastError ? h('div', { title: e.lastError }, e.lastError.slice(0, 60)) : h('span', { class: 'muted' }, 'none'),
          e.lastErrorAt ? h('div', { class: 'muted' }, rel(e.lastErrorAt)) : null),
        h('td', { class: 'small' }, `${fmtBytes(e.bytesIn)} / ${fmtBytes(e.bytesOut)}`),
        h('td', {}, cloudflare(e.cloudflare)))))))));
    const u = document.getElementById('updated');
    if (u) u.textContent = `updated ${new Date().toLocaleTimeString()}`;
  };
  await load();
  const timer = setInterval(() => load().catch(() => {}), 5_000);
  return () => clearInterval(timer);
}
