// Settings: one form field per runtime setting, the defaults' comments as help text, the
// server's validation errors shown next to the field they name. Only changed keys are sent.
import { api } from './api.js';
import { clear, h, splitList, toast } from './dom.js';

const SECRET = /(key|password|clearance|secret|token$)/i;

function unavailable(main, what) {
  clear(main, h('h1', {}, what), h('div', { class: 'notice', id: 'not-available' },
    `${what} are not available in this build: the server does not offer the admin route yet. Edit DATA_DIR/config.toml and restart instead.`));
}

function inputFor(name, value) {
  if (typeof value === 'boolean') return h('input', { type: 'checkbox', name, checked: value });
  if (typeof value === 'number') return h('input', { type: 'number', name, value: String(value), step: 'any' });
  if (Array.isArray(value)) return h('input', { type: 'text', name, value: value.join(', ') });
  if (value !== null && typeof value === 'object') return h('textarea', { name, rows: 3, value: JSON.stringify(value, null, 2) });
  return h('input', { type: SECRET.test(name) ? 'password' : 'text', name, value: value ?? '', autocomplete: 'off' });
}

function readInput(input, original) {
  if (typeof original === 'boolean') return input.checked;
  if (typeof original === 'number') return input.value === '' ? original : Number(input.value);
  if (Array.isArray(original)) return splitList(input.value);
  if (original !== null && typeof original === 'object') return JSON.parse(input.value);
  return input.value;
}

export async function render(main) {
  let settings;
  try {
    const r = await api('GET', '/admin/api/settings');
    settings = r && r.settings && typeof r.settings === 'object' ? r.settings : r;
  } catch (e) {
    if (e.missingRoute) return unavailable(main, 'Runtime settings');
    throw e;
  }
  const help = await api('GET', '/admin/api/settings/help').then((r) => r.help, () => ({}));
  const form = h('form', { id: 'settings-form' });
  const fields = new Map();
  for (const [section, values] of Object.entries(settings)) {
    if (!values || typeof values !== 'object' || Array.isArray(values)) continue;
    const rows = Object.entries(values).map(([key, value]) => {
      const name = `${section}.${key}`;
      const input = inputFor(name, value);
      const err = h('small', { class: 'err' });
      const wrap = h('label', { class: 'field', 'data-name': name },
        h('span', {}, key, h('code', { class: 'muted small', style: { marginLeft: '6px' } }, name)), input,
        help[section]?.[key] ? h('small', { class: 'help' }, help[section][key]) : null, err);
      fields.set(name, { input, err, wrap, section, key, original: value });
      return wrap;
    });
    form.append(h('fieldset', { class: 'panel', style: { border: '1px solid var(--line)' } }, h('legend', {}, h('strong', {}, `[${section}]`)), rows));
  }
  const status = h('span', { class: 'muted small' });
  const save = h('button', { class: 'primary', type: 'submit', id: 'settings-save' }, 'Save changes');
  form.append(h('div', { class: 'row', style: { position: 'sticky', bottom: 0, background: 'var(--bg)', padding: '10px 0' } }, save, status));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const patch = {};
    for (const f of fields.values()) {
      f.wrap.classList.remove('invalid');
      f.err.textContent = '';
      let v;
      try { v = readInput(f.input, f.original); } catch { return showError(f, 'Not valid JSON.'); }
      if (JSON.stringify(v) !== JSON.stringify(f.original)) (patch[f.section] ??= {})[f.key] = v;
    }
    if (!Object.keys(patch).length) return void (status.textContent = 'Nothing changed.');
    save.disabled = true;
    try {
      await api('PUT', '/admin/api/settings', patch);
      for (const [section, values] of Object.entries(patch)) for (const [key, v] of Object.entries(values)) fields.get(`${section}.${key}`).original = v;
      status.textContent = `Saved ${new Date().toLocaleTimeString()}: applied on every instance.`;
      toast('Settings saved.');
    } catch (e) {
      const target = e.param && [...fields.values()].find((f) => `${f.section}.${f.key}` === e.param || e.param.endsWith(`.${f.section}.${f.key}`) || (f.key === e.param && patch[f.section]?.[f.key] !== undefined));
      if (target) showError(target, e.message);
      else toast(e.message, 'error');
      status.textContent = '';
    } finally {
      save.disabled = false;
    }
  });

  function showError(f, message) {
    f.wrap.classList.add('invalid');
    f.err.textContent = message;
    f.wrap.scrollIntoView({ block: 'center' });
  }

  clear(main, h('h1', {}, 'Settings'),
    h('p', { class: 'muted' }, 'Runtime settings change without a restart. The listen address and storage are set by environment variables and are not shown here.'), form);
}
