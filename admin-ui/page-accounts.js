// Accounts: import (paste or upload), filters, quota bars per mode, bulk actions, tags and notes.
import { api } from './api.js';
import { clear, fmtNum, formDialog, h, rel, splitList, toast } from './dom.js';
import { runDoctor } from './doctor-view.js';

const filters = { status: '', tier: '', tag: '' };

function quotaBars(quotas) {
  const modes = Object.entries(quotas);
  if (!modes.length) return h('span', { class: 'muted small' }, 'not synced yet');
  return h('div', { class: 'quota' }, modes.map(([mode, q]) => {
    const ratio = q.total ? q.remaining / q.total : 0;
    const cls = q.remaining === 0 ? 'empty' : ratio < 0.25 ? 'low' : '';
    const reset = q.reset_at ? `resets ${rel(q.reset_at)} (${new Date(q.reset_at).toLocaleString()})` : 'reset time unknown';
    return h('div', { class: 'q', title: `${mode}: ${q.remaining} of ${q.total} left, ${reset}` },
      h('span', {}, mode),
      h('div', { class: 'bar' }, h('i', { class: cls, style: { width: `${Math.round(ratio * 100)}%` } })),
      h('span', { class: 'small muted' }, `${q.remaining}/${q.total}`));
  }));
}

export async function render(main) {
  const result = h('div', { class: 'small', id: 'import-result' });
  const textarea = h('textarea', { id: 'import-tokens', rows: 4, placeholder: 'One SSO token per line (sso=… or a whole cookie string also works)' });
  const file = h('input', { type: 'file', accept: '.txt,.csv,.json,text/plain,application/json', onchange: async () => {
    const f = file.files[0];
    if (!f) return;
    const text = await f.text();
    const exported = parseExport(text);
    if (!exported) {
      textarea.value = (textarea.value ? `${textarea.value}\n` : '') + text;
      return;
    }
    // An export file (Export accounts below): imported as it is, tier, tags, notes and disabled state included.
    file.value = '';
    if (!exported.secrets) return void (result.textContent = 'This export has masked tokens (made without "include tokens"): it cannot be imported.');
    try {
      const r = await api('POST', '/admin/api/tokens', { accounts: exported.accounts });
      result.textContent = `Imported from ${f.name}: ${r.added} added, ${r.skipped} already present (skipped), ${r.invalid} not a token.`;
      await load();
    } catch (e) {
      result.textContent = e.message;
    }
  } });
  // grok.com SSO cookies or official xAI API keys (a second upstream in the same pool).
  const kind = h('select', { id: 'import-kind' }, h('option', { value: 'grok' }, 'grok.com SSO tokens'), h('option', { value: 'xai' }, 'xAI API keys'));
  const tier = h('select', { id: 'import-tier' }, h('option', { value: '' }, 'tier: detect (basic)'), ['basic', 'super', 'heavy'].map((t) => h('option', { value: t }, t)));
  const tags = h('input', { id: 'import-tags', placeholder: 'tags, comma-separated' });
  const importButton = h('button', { class: 'primary', id: 'import-button', onclick: async () => {
    if (!textarea.value.trim()) return toast('Paste at least one token first.', 'error');
    importButton.disabled = true;
    try {
      const body = { tokens: textarea.value, kind: kind.value, ...(tier.value && kind.value === 'grok' ? { tier: tier.value } : {}), ...(splitList(tags.value).length ? { tags: splitList(tags.value) } : {}) };
      const r = await api('POST', '/admin/api/tokens', body);
      result.textContent = `Imported: ${r.added} added, ${r.skipped} already present (skipped), ${r.invalid} not a token${r.masked ? ` (${r.masked} masked)` : ''}.`;
      textarea.value = '';
      await load();
    } catch (e) {
      result.textContent = e.message;
    } finally {
      importButton.disabled = false;
    }
  } }, 'Import');

  const selected = new Set();
  const list = h('div', {});
  const count = h('span', { class: 'muted small' });
  const selectEl = (name, options) => h('select', { onchange: (e) => { filters[name] = e.target.value; load(); }, value: filters[name] },
    h('option', { value: '' }, `${name}: all`), options.map((o) => h('option', { value: o }, o)));
  const tagFilter = h('input', { placeholder: 'tag', value: filters.tag, onchange: (e) => { filters.tag = e.target.value.trim(); load(); } });

  const bulk = async (label, fn) => {
    const ids = [...selected];
    try {
      const r = await fn(ids);
      toast(`${label}: done${r && typeof r === 'object' ? ` (${summary(r)})` : ''}`);
      await load();
    } catch (e) {
      toast(e.missingRoute ? `${label} is not available in this build.` : e.message, 'error');
    }
  };
  const needSel = (fn) => () => (selected.size ? fn() : toast('Select accounts first (the checkbox column).', 'error'));
  const patchAll = (ids, patch) => Promise.all(ids.map((id) => api('PATCH', `/admin/api/tokens/${encodeURIComponent(id)}`, patch))).then(() => ({ updated: ids.length }));
  const actions = h('div', { class: 'row' },
    h('button', { onclick: () => bulk('Quota refresh', (ids) => api('POST', '/admin/api/tokens/refresh', ids.length ? { ids } : {})) }, 'Refresh quotas'),
    h('button', { onclick: needSel(() => bulk('Enable', (ids) => patchAll(ids, { status: 'active' }))) }, 'Enable'),
    h('button', { onclick: needSel(() => bulk('Disable', (ids) => patchAll(ids, { status: 'disabled' }))) }, 'Disable'),
    h('button', { onclick: () => bulk('NSFW enablement', (ids) => api('POST', '/admin/api/tokens/nsfw', ids.length ? { ids } : {})) }, 'Enable NSFW'),
    h('button', { class: 'danger', onclick: needSel(() => confirm(`Delete ${selected.size} account(s)? This cannot be undone.`) && bulk('Delete', (ids) => api('DELETE', '/admin/api/tokens', { ids }))) }, 'Delete'),
    h('span', { class: 'muted small' }, 'Refresh and NSFW act on the selection, or on every account when nothing is selected.'));

  // Export: a same-origin download (the session cookie goes along; the server names the file).
  const exportUrl = (secrets) => {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    if (secrets) q.set('include_secrets', 'true');
    return `/admin/api/tokens/export${q.size ? `?${q}` : ''}`;
  };
  const download = (secrets) => {
    if (secrets && !confirm('Export the tokens themselves? Anyone with this file can use these accounts. Keep it somewhere safe.')) return;
    const a = h('a', { href: exportUrl(secrets), download: '' });
    document.body.append(a);
    a.click();
    a.remove();
  };
  const purgeStatus = h('select', { id: 'purge-status', 'aria-label': 'status to delete' },
    ['invalid', 'exhausted', 'cooling', 'disabled'].map((s) => h('option', { value: s }, s)));
  const purge = async () => {
    const status = purgeStatus.value;
    try {
      const dry = await api('POST', '/admin/api/tokens/delete-by-status', { status, dry_run: true });
      if (dry.matched === 0) return toast(`No account is ${status} now.`);
      if (!confirm(`Delete all ${dry.matched} ${status} account(s)? This cannot be undone.`)) return;
      const r = await api('POST', '/admin/api/tokens/delete-by-status', { status, confirm: true });
      toast(`Deleted ${r.deleted} ${status} account(s).`);
      await load();
    } catch (e) {
      toast(e.message, 'error');
    }
  };
  const lifecycle = h('div', { class: 'row', id: 'accounts-lifecycle' },
    h('button', { id: 'export-masked', title: 'JSON with masked tokens: for the record, not for importing', onclick: () => download(false) }, 'Export'),
    h('button', { id: 'export-secrets', title: 'JSON with the tokens: can be imported here or on another server (pick the file above)', onclick: () => download(true) }, 'Export with tokens'),
    h('span', { class: 'muted small' }, 'Delete every account that is'), purgeStatus,
    h('button', { class: 'danger', id: 'purge-button', onclick: purge }, 'Delete by status'));

  async function edit(a) {
    const v = await formDialog(`Account ${a.token}`, [
      { name: 'tags', label: 'Tags', value: a.tags.join(', '), help: 'Comma-separated. API keys can be limited to accounts with given tags.' },
      { name: 'note', label: 'Note', value: a.note, type: 'textarea' },
    ]);
    if (!v) return;
    try {
      await api('PATCH', `/admin/api/tokens/${encodeURIComponent(a.id)}`, { tags: splitList(v.tags), note: v.note });
      toast('Saved.');
      await load();
    } catch (e) { toast(e.message, 'error'); }
  }

  async function load() {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    const { tokens } = await api('GET', `/admin/api/tokens${q.size ? `?${q}` : ''}`);
    for (const id of [...selected]) if (!tokens.some((t) => t.id === id)) selected.delete(id);
    count.textContent = `${tokens.length} account(s)`;
    const all = h('input', { type: 'checkbox', 'aria-label': 'select all', checked: tokens.length > 0 && selected.size === tokens.length, onchange: (e) => {
      for (const t of tokens) e.target.checked ? selected.add(t.id) : selected.delete(t.id);
      load();
    } });
    clear(list, tokens.length === 0
      ? h('p', { class: 'muted' }, 'No accounts match. Import SSO tokens above.')
      : h('div', { class: 'table-wrap' }, h('table', { id: 'accounts-table' },
        h('thead', {}, h('tr', {}, h('th', {}, all), ['Token', 'Kind / tier', 'Status', 'Quota', 'Tags / note', 'Used', 'Last used', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, tokens.map((a) => h('tr', { 'data-id': a.id },
          h('td', {}, h('input', { type: 'checkbox', checked: selected.has(a.id), onchange: (e) => (e.target.checked ? selected.add(a.id) : selected.delete(a.id)) })),
          h('td', {}, h('div', { class: 'mono' }, a.token), h('div', { class: 'muted small mono' }, a.id)),
          h('td', {}, a.kind === 'xai' ? h('span', { class: 'tag' }, 'xAI API') : a.tier),
          h('td', {}, h('span', { class: `badge ${a.status}` }, a.status),
            a.cooling_until ? h('div', { class: 'small muted' }, `until ${rel(a.cooling_until)}`) : null,
            a.last_error ? h('div', { class: 'small muted last-error', title: `${a.last_error}${a.last_error_at ? `\n${new Date(a.last_error_at).toLocaleString()}` : ''}` },
              `${a.last_error.slice(0, 40)}${a.last_error.length > 40 ? '…' : ''}`, a.last_error_at ? ` · ${rel(a.last_error_at)}` : '') : null),
          h('td', {}, quotaBars(a.quotas)),
          h('td', {}, a.tags.map((t) => h('span', { class: 'tag' }, t)), a.note ? h('div', { class: 'small muted' }, a.note) : null),
          h('td', {}, `${fmtNum(a.use_count)} ok`, h('div', { class: 'small muted' }, `${fmtNum(a.fail_count)} failed, ${a.in_flight} now`)),
          h('td', { class: 'small' }, rel(a.last_used_at)),
          h('td', {}, h('div', { class: 'row', style: { flexWrap: 'nowrap' } },
            h('button', { class: 'ghost', onclick: () => edit(a) }, 'Edit'),
            h('button', { class: 'ghost', title: 'Check this account end to end: DNS, TLS, Cloudflare, session, rate limits, a chat turn on each transport (one fast query each), the imagine socket',
              onclick: (e) => runDoctor(a, e.currentTarget) }, 'Doctor')))))))));
  }

  clear(main,
    h('h1', {}, 'Accounts'),
    h('section', { class: 'panel' }, h('h2', {}, 'Import grok.com accounts'),
      h('p', { class: 'muted small' }, 'Paste SSO tokens (the sso cookie of grok.com), or upload a text file with one per line. Duplicates are skipped.'),
      textarea, h('div', { class: 'row', style: { marginTop: '8px' } }, file, kind, tier, tags, importButton), result),
    h('section', { class: 'panel' },
      h('div', { class: 'row' }, selectEl('status', ['active', 'cooling', 'invalid', 'disabled']), selectEl('tier', ['basic', 'super', 'heavy']), tagFilter, count),
      h('div', { style: { margin: '10px 0' } }, actions), list),
    h('section', { class: 'panel' }, h('h2', {}, 'Export and clean up'), lifecycle));
  await load();
  const timer = setInterval(() => load().catch(() => {}), 15_000);
  return () => clearInterval(timer);
}

/** The object of an accounts export file, or null when the text is not one. */
function parseExport(text) {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && Array.isArray(v.accounts) ? v : null;
  } catch {
    return null;
  }
}

function summary(r) {
  return Object.entries(r).filter(([, v]) => typeof v === 'number').map(([k, v]) => `${k} ${v}`).join(', ') || 'ok';
}
