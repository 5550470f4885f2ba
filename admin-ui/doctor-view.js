// The doctor's report for one account (POST /admin/api/tokens/{id}/doctor) in a dialog: the
// verdict, then each layer with what was seen and, where one is needed, the next step.
import { api } from './api.js';
import { h, toast } from './dom.js';

// Layer statuses drawn with the account badges' colours.
const BADGE = { ok: 'active', warn: 'cooling', fail: 'invalid', skip: 'disabled' };

function reportDialog(r) {
  const dlg = h('dialog', { class: 'modal wide', id: 'doctor-report' },
    h('h3', {}, `Doctor · ${r.account.id ?? r.account.token}`),
    h('p', {}, h('span', { class: `badge ${BADGE[r.verdict]}` }, r.verdict.toUpperCase()), ' ', r.summary),
    h('p', { class: 'muted small' }, `${r.base_url} · egress ${r.egress ?? 'unknown'} · ${r.client.transport}${r.client.profile ? ` as ${r.client.profile} (${r.client.os})` : ''} · ${(r.duration_ms / 1000).toFixed(1)} s`),
    h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Layer', '', 'Seen', 'Next step'].map((t) => h('th', {}, t)))),
      h('tbody', {}, r.layers.map((l) => h('tr', { 'data-layer': l.id },
        h('td', {}, l.title, l.status === 'skip' ? null : h('div', { class: 'muted small' }, `${l.ms} ms`)),
        h('td', {}, h('span', { class: `badge ${BADGE[l.status]}` }, l.status)),
        h('td', { class: 'small' }, l.seen),
        h('td', { class: 'small' }, l.status === 'ok' ? '' : l.next ?? '')))))),
    h('form', { method: 'dialog' }, h('div', { class: 'row end' }, h('button', { class: 'primary', value: 'close' }, 'Close'))));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

/** Runs the doctor on an account (a chat turn on each transport: a few seconds) and shows the report. */
export async function runDoctor(account, button) {
  button.disabled = true;
  const label = button.textContent;
  button.textContent = 'Checking…';
  try {
    reportDialog(await api('POST', `/admin/api/tokens/${encodeURIComponent(account.id)}/doctor`));
  } catch (e) {
    toast(e.missingRoute ? 'The doctor is not available in this build.' : e.message, 'error');
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}
