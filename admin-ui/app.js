// Entry point: login, navigation (hash routes) and page mounting. Each page is a module exporting
// `render(main)`; it may return a cleanup function (timers) that runs when the page is left.
import { api, onUnauthorized } from './api.js';
import { clear, h, toast } from './dom.js';
import * as accounts from './page-accounts.js';
import * as dashboard from './page-dashboard.js';
import * as egress from './page-egress.js';
import * as keys from './page-keys.js';
import * as logs from './page-logs.js';
import * as media from './page-media.js';
import * as settings from './page-settings.js';

const PAGES = [
  ['dashboard', 'Dashboard', dashboard.render],
  ['logs', 'Logs', logs.render],
  ['accounts', 'Accounts', accounts.render],
  ['egress', 'Egress', egress.render],
  ['keys', 'API keys', keys.render],
  ['settings', 'Settings', settings.render],
  ['tasks', 'Video tasks', media.renderTasks],
  ['cache', 'Media cache', media.renderCache],
];

const root = document.getElementById('app');
let cleanup = null;

function showLogin(message) {
  if (cleanup) { cleanup(); cleanup = null; }
  const input = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true, autofocus: true });
  const err = h('div', { class: 'err small' }, message || '');
  const form = h('form', { class: 'panel' },
    h('h1', {}, 'grok2api admin'),
    h('p', { class: 'muted' }, 'Sign in with the admin key (APP_KEY). It was printed once when the server first started.'),
    h('label', { class: 'field' }, h('span', {}, 'Admin key'), input, err),
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      await api('POST', '/admin/api/login', { password: input.value });
      if (!location.hash || location.hash === '#/login') location.hash = '#/dashboard';
      showShell();
    } catch (ex) {
      err.textContent = ex.message;
    } finally {
      button.disabled = false;
    }
  });
  clear(root, h('div', { class: 'login' }, form));
  input.focus();
}

async function logout() {
  await api('POST', '/admin/api/logout').catch(() => {});
  showLogin('Signed out.');
}

let main;
function showShell() {
  main = h('main', { id: 'main' });
  const nav = h('nav', { class: 'side' },
    h('div', { class: 'brand' }, 'grok2api'),
    PAGES.map(([id, label]) => h('a', { href: `#/${id}`, 'data-page': id }, label)),
    h('div', { class: 'spacer' }),
    h('button', { class: 'ghost', style: { color: '#d1d5db', borderColor: '#374151' }, onclick: logout }, 'Sign out'));
  clear(root, h('div', { class: 'layout' }, nav, main));
  route();
}

function route() {
  if (!main) return;
  const id = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'dashboard';
  const page = PAGES.find((p) => p[0] === id) || PAGES[0];
  for (const a of document.querySelectorAll('nav.side a')) a.classList.toggle('active', a.dataset.page === page[0]);
  if (cleanup) { cleanup(); cleanup = null; }
  clear(main);
  document.querySelector('.toasts')?.replaceChildren();
  document.title = `${page[1]} · grok2api admin`;
  Promise.resolve(page[2](main)).then((c) => { cleanup = typeof c === 'function' ? c : null; })
    .catch((e) => { if (e.status !== 401) toast(e.message, 'error'); });
}

window.addEventListener('hashchange', route);
onUnauthorized(() => { main = null; showLogin('Your session has ended; sign in again.'); });

// A cheap authenticated call tells whether the session cookie is still valid.
api('GET', '/admin/api/keys').then(showShell, (e) => (e.status === 401 ? showLogin() : clear(root, h('p', { class: 'boot' }, e.message))));
