// Tiny DOM helpers: the console is hand-written DOM, no framework (see README: "Admin console").

/**
 * h('div', {class: 'x', onclick: fn}, child, [children], null) → element.
 * Strings become text nodes (never HTML), so server data can never inject markup.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'value') { value = v; continue; }
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  // After the children, so a <select> already has the option to select.
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** SVG element with attributes (charts). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastBox;
/** A short message in the corner; kind: 'ok' | 'error'. */
export function toast(message, kind = 'ok') {
  toastBox ??= document.body.appendChild(h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' }));
  const t = toastBox.appendChild(h('div', { class: `toast ${kind}` }, message));
  setTimeout(() => t.remove(), kind === 'error' ? 7000 : 3500);
}

/**
 * A modal form in a native <dialog>. fields: [{name, label, value, type, help}]. Resolves with
 * the values, or null when cancelled.
 */
export function formDialog(title, fields, submitLabel = 'Save') {
  return new Promise((resolve) => {
    const inputs = fields.map((f) =>
      h('label', { class: 'field' }, h('span', {}, f.label),
        f.type === 'textarea'
          ? h('textarea', { name: f.name, rows: 3, value: f.value ?? '' })
          : h('input', { name: f.name, type: f.type || 'text', value: f.value ?? '', placeholder: f.placeholder || '' }),
        f.help ? h('small', { class: 'help' }, f.help) : null),
    );
    const dlg = h('dialog', { class: 'modal' },
      h('form', { method: 'dialog' },
        h('h3', {}, title), inputs,
        h('div', { class: 'row end' },
          h('button', { value: 'cancel', class: 'ghost', formnovalidate: true }, 'Cancel'),
          h('button', { value: 'ok', class: 'primary' }, submitLabel))));
    dlg.addEventListener('close', () => {
      const ok = dlg.returnValue === 'ok';
      const values = Object.fromEntries(fields.map((f) => [f.name, dlg.querySelector(`[name="${f.name}"]`).value]));
      dlg.remove();
      resolve(ok ? values : null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export const fmtNum = (n) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US'));
export const fmtPct = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(1)}%`);

/** "3 min ago" / "in 2 h" for an ISO time; '–' for null. */
export function rel(iso) {
  if (!iso) return '–';
  const d = (Date.parse(iso) - Date.now()) / 1000;
  const a = Math.abs(d);
  const t = a < 60 ? `${Math.round(a)} s` : a < 3600 ? `${Math.round(a / 60)} min` : a < 86400 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86400)} d`;
  return d < 0 ? `${t} ago` : `in ${t}`;
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return String(n);
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** "a, b ,c" → ['a','b','c'] */
export const splitList = (v) => String(v || '').split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
