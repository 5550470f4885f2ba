// Hand-drawn SVG charts (a few dozen lines instead of a charting library).
import { h, s } from './dom.js';

/**
 * Stacked bars (success below, failed on top) with a success-rate line on a 0–100% scale.
 * points: [{label, success, failed}]
 */
export function requestChart(points, { width = 560, height = 200 } = {}) {
  const pad = { l: 34, r: 34, t: 10, b: 22 };
  const w = width - pad.l - pad.r;
  const ht = height - pad.t - pad.b;
  const max = Math.max(1, ...points.map((p) => p.success + p.failed));
  const step = w / Math.max(1, points.length);
  const bw = Math.max(2, step * 0.7);
  const y = (v) => pad.t + ht - (v / max) * ht;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-label': 'requests chart' });
  for (const f of [0, 0.5, 1]) {
    const yy = pad.t + ht - f * ht;
    svg.append(s('line', { x1: pad.l, x2: width - pad.r, y1: yy, y2: yy, stroke: '#e5e7eb' }));
    svg.append(s('text', { x: pad.l - 4, y: yy + 3, 'text-anchor': 'end' }, String(Math.round(max * f))));
    svg.append(s('text', { x: width - pad.r + 4, y: yy + 3 }, `${Math.round(f * 100)}%`));
  }
  const line = [];
  points.forEach((p, i) => {
    const x = pad.l + i * step + (step - bw) / 2;
    const total = p.success + p.failed;
    const title = s('title', {}, `${p.label}: ${total} requests, ${p.failed} failed`);
    svg.append(s('rect', { x, y: y(p.success), width: bw, height: pad.t + ht - y(p.success), fill: '#60a5fa' }, title));
    if (p.failed) svg.append(s('rect', { x, y: y(total), width: bw, height: y(p.success) - y(total), fill: '#f87171' }, title.cloneNode(true)));
    if (total) line.push(`${x + bw / 2},${pad.t + ht - (p.success / total) * ht}`);
    if (i % Math.ceil(points.length / 8) === 0) svg.append(s('text', { x: x + bw / 2, y: height - 6, 'text-anchor': 'middle' }, p.label));
  });
  if (line.length > 1) svg.append(s('polyline', { points: line.join(' '), fill: 'none', stroke: '#16a34a', 'stroke-width': 2 }));
  for (const pt of line) {
    const [cx, cy] = pt.split(',');
    svg.append(s('circle', { cx, cy, r: 2.5, fill: '#16a34a' }));
  }
  return h('div', {}, svg,
    h('div', { class: 'legend' },
      h('span', {}, h('i', { style: { background: '#60a5fa' } }), 'succeeded'),
      h('span', {}, h('i', { style: { background: '#f87171' } }), 'failed'),
      h('span', {}, h('i', { style: { background: '#16a34a' } }), 'success rate')));
}

export const STATUS_COLORS = { active: '#16a34a', cooling: '#d97706', invalid: '#dc2626', disabled: '#9ca3af' };

/** One horizontal bar split by account status, with a legend. */
export function healthBar(counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const bar = h('div', { class: 'health', role: 'img', 'aria-label': 'account health' },
    total ? Object.entries(counts).filter(([, n]) => n).map(([k, n]) =>
      h('div', { title: `${k}: ${n}`, style: { width: `${(n / total) * 100}%`, background: STATUS_COLORS[k] || '#6366f1' } })) : null);
  const legend = h('div', { class: 'legend' },
    Object.entries(counts).map(([k, n]) => h('span', {}, h('i', { style: { background: STATUS_COLORS[k] || '#6366f1' } }), `${k} ${n}`)));
  return h('div', {}, bar, legend);
}
