// Video tasks (live progress, cancel, delete, open the video) and the media cache (usage, clear).
import { api } from './api.js';
import { clear, fmtBytes, h, rel, toast } from './dom.js';

function unavailable(main, title, what) {
  clear(main, h('h1', {}, title), h('div', { class: 'notice', id: 'not-available' }, `${what} not available in this build: the server does not offer the admin route yet.`));
}

const ACTIVE = new Set(['pending', 'running']);

export async function renderTasks(main) {
  let status = '';
  const list = h('div', {});
  const filter = h('select', { onchange: (e) => { status = e.target.value; load(); } },
    h('option', { value: '' }, 'status: all'), ['pending', 'running', 'completed', 'failed', 'cancelled'].map((s) => h('option', { value: s }, s)));
  const act = async (label, fn) => {
    try { await fn(); toast(label); } catch (e) { toast(e.message, 'error'); }
    await load();
  };
  async function load() {
    const { tasks } = await api('GET', `/admin/api/video/tasks${status ? `?status=${status}` : ''}`);
    clear(list, !tasks.length ? h('p', { class: 'muted' }, 'No video tasks.') : h('div', { class: 'table-wrap' }, h('table', { id: 'tasks-table' },
      h('thead', {}, h('tr', {}, ['Task', 'Prompt', 'Status', 'Progress', 'Created', 'Finished', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, tasks.map((t) => h('tr', { 'data-id': t.task_id },
        h('td', { class: 'mono small' }, t.task_id),
        h('td', { title: t.prompt }, String(t.prompt ?? '').slice(0, 80)),
        h('td', {}, h('span', { class: `badge ${t.status}` }, t.status), t.message ? h('div', { class: 'small muted' }, t.message) : null),
        h('td', {}, h('div', { class: 'bar progress', title: `${t.progress}%` }, h('i', { style: { width: `${t.progress ?? 0}%` } })), h('span', { class: 'small muted' }, `${t.progress ?? 0}%`)),
        h('td', { class: 'small' }, rel(t.created_at)),
        h('td', { class: 'small' }, rel(t.completed_at)),
        h('td', {}, h('div', { class: 'row' },
          t.video_url ? h('a', { href: t.video_url, target: '_blank', rel: 'noopener' }, 'Open video') : null,
          ACTIVE.has(t.status) ? h('button', { class: 'ghost', onclick: () => act('Cancelled.', () => api('DELETE', `/admin/api/video/tasks/${t.task_id}`)) }, 'Cancel') : null,
          !ACTIVE.has(t.status) ? h('button', { class: 'danger', onclick: () => act('Deleted.', () => api('DELETE', '/admin/api/video/tasks', { task_ids: [t.task_id] })) }, 'Delete') : null))))))));
  }
  try {
    await load();
  } catch (e) {
    if (e.missingRoute) return unavailable(main, 'Video tasks', 'Video tasks are');
    throw e;
  }
  clear(main, h('h1', {}, 'Video tasks'), h('section', { class: 'panel' }, h('div', { class: 'row', style: { marginBottom: '10px' } }, filter,
    h('span', { class: 'muted small' }, 'Refreshes every 2 s while this page is open.')), list));
  // Live progress: a light poll (one small list request) is enough for a handful of tasks.
  const timer = setInterval(() => load().catch(() => {}), 2000);
  return () => clearInterval(timer);
}

/** Renders whatever usage figures the cache reports, one card per cache (image, video, …). */
function usageCards(usage) {
  const entries = Object.entries(usage).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v));
  const flat = Object.entries(usage).filter(([, v]) => typeof v !== 'object');
  const fmt = (k, v) => (typeof v === 'number' && /bytes/.test(k) ? fmtBytes(v) : typeof v === 'number' && /ratio/.test(k) ? `${(v * 100).toFixed(1)}%` : String(v));
  const card = (name, obj) => h('div', { class: 'card' }, h('div', { class: 'label' }, name),
    typeof obj.bytes === 'number' && obj.limit_bytes ? h('div', { class: 'bar', style: { margin: '6px 0' }, title: 'used of the limit' },
      h('i', { style: { width: `${Math.min(100, (obj.bytes / obj.limit_bytes) * 100)}%` } })) : null,
    Object.entries(obj).filter(([, v]) => typeof v !== 'object').map(([k, v]) => h('div', { 'data-key': k }, h('span', { class: 'muted small' }, `${k.replace(/_/g, ' ')}: `), fmt(k, v))));
  return h('div', { class: 'cards' }, entries.map(([k, v]) => card(k, v)), flat.length ? card('total', Object.fromEntries(flat)) : null);
}

export async function renderCache(main) {
  let usage;
  try {
    usage = await api('GET', '/admin/api/cache');
  } catch (e) {
    if (e.missingRoute) return unavailable(main, 'Media cache', 'The media cache is');
    throw e;
  }
  const body = h('div', {});
  const draw = (u) => clear(body, usageCards(u));
  draw(usage);
  clear(main, h('h1', {}, 'Media cache'),
    h('section', { class: 'panel' }, h('p', { class: 'muted' }, 'Generated images and videos downloaded from grok.com, served at /v1/files/*. Clearing removes the local copies; links already handed out stop working.'),
      body, h('button', { class: 'danger', onclick: async () => {
        if (!confirm('Delete every cached image and video?')) return;
        try {
          await api('DELETE', '/admin/api/cache');
          toast('Cache cleared.');
          draw(await api('GET', '/admin/api/cache'));
        } catch (e) { toast(e.message, 'error'); }
      } }, 'Clear cache')));
}
