// API keys: create (the secret is shown once, with a copy button), limits, enable/disable, revoke.
import { api } from './api.js';
import { clear, formDialog, h, rel, splitList, toast } from './dom.js';

const num = (v) => (String(v).trim() === '' ? null : Number(v));
/** datetime-local value (local time) → ISO, or null. */
const isoFromLocal = (v) => (v ? new Date(v).toISOString() : null);
const localFromIso = (iso) => (iso ? new Date(Date.parse(iso) - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : '');

/** Shows the field the server named in a 400 next to its input. */
function fieldError(form, e) {
  for (const el of form.querySelectorAll('.field')) { el.classList.remove('invalid'); el.querySelector('.err').textContent = ''; }
  if (!e.message) return;
  const field = e.param && form.querySelector(`.field[data-name="${e.param.split(/[.[]/)[0]}"]`);
  if (!field) return toast(e.message, 'error');
  field.classList.add('invalid');
  field.querySelector('.err').textContent = e.message;
}

const field = (name, label, input, help) =>
  h('label', { class: 'field', 'data-name': name }, h('span', {}, label), input, help ? h('small', { class: 'help' }, help) : null, h('small', { class: 'err' }));

export async function render(main) {
  const secretBox = h('div', {});
  const list = h('div', {});
  const inputs = {
    name: h('input', { name: 'name', required: true, placeholder: 'e.g. laptop, ci, alice' }),
    expires_at: h('input', { name: 'expires_at', type: 'datetime-local' }),
    models: h('input', { name: 'models', placeholder: 'all models' }),
    rpm: h('input', { name: 'rpm', type: 'number', min: 1, placeholder: 'unlimited' }),
    rpd: h('input', { name: 'rpd', type: 'number', min: 1, placeholder: 'unlimited' }),
    tags: h('input', { name: 'tags', placeholder: 'any account' }),
    providers: h('input', { name: 'providers', placeholder: 'all providers' }),
  };
  const form = h('form', { class: 'panel', id: 'key-form' },
    h('h2', {}, 'Create an API key'),
    h('div', { class: 'inline-fields' },
      field('name', 'Name', inputs.name),
      field('expires_at', 'Expires', inputs.expires_at, 'Empty = never.'),
      field('rpm', 'Requests / minute', inputs.rpm),
      field('rpd', 'Requests / day', inputs.rpd),
      field('models', 'Models', inputs.models, 'Comma-separated model ids; empty = all.'),
      field('tags', 'Account tags', inputs.tags, 'Only accounts with one of these tags serve this key.'),
      field('providers', 'Providers', inputs.providers, 'grok, xai — only these upstreams serve this key; empty = all.')),
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, 'Create key')),
    secretBox);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: inputs.name.value };
    if (inputs.expires_at.value) body.expires_at = isoFromLocal(inputs.expires_at.value);
    if (splitList(inputs.models.value).length) body.models = splitList(inputs.models.value);
    if (inputs.rpm.value) body.rpm = num(inputs.rpm.value);
    if (inputs.rpd.value) body.rpd = num(inputs.rpd.value);
    if (splitList(inputs.tags.value).length) body.tags = splitList(inputs.tags.value);
    if (splitList(inputs.providers.value).length) body.providers = splitList(inputs.providers.value);
    try {
      const k = await api('POST', '/admin/api/keys', body);
      fieldError(form, {});
      form.querySelectorAll('input').forEach((i) => { i.value = ''; });
      const code = h('code', { id: 'new-secret' }, k.key);
      clear(secretBox, h('div', { class: 'secret' },
        h('strong', {}, `Key "${k.name}" created. Copy it now: it is shown only once.`), code,
        h('div', { class: 'row' },
          h('button', { type: 'button', onclick: () => copy(k.key) }, 'Copy'),
          h('button', { type: 'button', class: 'ghost', onclick: () => clear(secretBox) }, 'Done'))));
      await load();
    } catch (e) {
      fieldError(form, e);
    }
  });

  async function editKey(k) {
    const v = await formDialog(`Limits of "${k.name}"`, [
      { name: 'name', label: 'Name', value: k.name },
      { name: 'expires_at', label: 'Expires', type: 'datetime-local', value: localFromIso(k.expires_at), help: 'Empty = never.' },
      { name: 'rpm', label: 'Requests / minute', type: 'number', value: k.rpm ?? '', help: 'Empty = unlimited.' },
      { name: 'rpd', label: 'Requests / day', type: 'number', value: k.rpd ?? '', help: 'Empty = unlimited.' },
      { name: 'models', label: 'Models', value: (k.models || []).join(', '), help: 'Comma-separated; empty = all.' },
      { name: 'tags', label: 'Account tags', value: k.tags.join(', ') },
      { name: 'providers', label: 'Providers', value: (k.providers || []).join(', '), help: 'grok, xai; empty = all.' },
    ]);
    if (!v) return;
    try {
      await api('PATCH', `/admin/api/keys/${k.id}`, {
        name: v.name, expires_at: isoFromLocal(v.expires_at), rpm: num(v.rpm), rpd: num(v.rpd),
        models: splitList(v.models).length ? splitList(v.models) : null, tags: splitList(v.tags),
        providers: splitList(v.providers).length ? splitList(v.providers) : null,
      });
      toast('Saved.');
      await load();
    } catch (e) { toast(e.message, 'error'); }
  }

  async function load() {
    const { keys } = await api('GET', '/admin/api/keys');
    clear(list, keys.length === 0
      ? h('p', { class: 'muted' }, 'No keys yet. Until there is one (or API_KEY is set), the API is open to anyone who can reach it.')
      : h('div', { class: 'table-wrap' }, h('table', { id: 'keys-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Key', 'Status', 'Limits', 'Models', 'Tags', 'Providers', 'Created', 'Last used', ''].map((t) => h('th', {}, t)))),
        h('tbody', {}, keys.map((k) => {
          const status = !k.enabled ? 'disabled' : k.expired ? 'expired' : 'enabled';
          return h('tr', { 'data-id': k.id },
            h('td', {}, k.name),
            h('td', { class: 'mono' }, k.key_hint),
            h('td', {}, h('span', { class: `badge ${status}` }, status), k.expires_at && !k.expired ? h('div', { class: 'small muted' }, `expires ${rel(k.expires_at)}`) : null),
            h('td', { class: 'small' }, `${k.rpm ?? '∞'} / min`, h('br'), `${k.rpd ?? '∞'} / day`),
            h('td', { class: 'small' }, k.models ? k.models.join(', ') : 'all'),
            h('td', {}, k.tags.length ? k.tags.map((t) => h('span', { class: 'tag' }, t)) : h('span', { class: 'muted small' }, 'any')),
            h('td', { class: 'small' }, k.providers ? k.providers.join(', ') : 'all'),
            h('td', { class: 'small' }, rel(k.created_at)),
            h('td', { class: 'small' }, rel(k.last_used_at)),
            h('td', {}, h('div', { class: 'row' },
              h('button', { class: 'ghost', onclick: () => editKey(k) }, 'Edit'),
              h('button', { class: 'ghost', onclick: async () => {
                await api('PATCH', `/admin/api/keys/${k.id}`, { enabled: !k.enabled }).catch((e) => toast(e.message, 'error'));
                await load();
              } }, k.enabled ? 'Disable' : 'Enable'),
              h('button', { class: 'danger', onclick: async () => {
                if (!confirm(`Revoke "${k.name}"? Clients using it are refused at once.`)) return;
                await api('DELETE', `/admin/api/keys/${k.id}`).then(() => toast('Revoked.'), (e) => toast(e.message, 'error'));
                await load();
              } }, 'Revoke'))));
        })))));
  }

  clear(main, h('h1', {}, 'API keys'), form, h('section', { class: 'panel' }, h('h2', {}, 'Keys'),
    h('p', { class: 'muted small' }, 'Keys from API_KEY (environment or config) also work and are unlimited; they are not listed here.'), list));
  await load();
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied to the clipboard.');
  } catch {
    // Plain-http origins have no clipboard API: select the text for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents(document.getElementById('new-secret'));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    toast('Press Ctrl+C to copy the selected key.');
  }
}
