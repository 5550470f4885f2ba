import type { DoctorReport, LayerStatus } from './report.js';

const LABEL: Record<LayerStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };
/** The longest title ("Chat turn (WebSocket)") and two spaces. */
const WIDTH = 23;

/** The report for a terminal: one line per layer, the next step under each layer that needs one. */
export function renderText(r: DoctorReport): string {
  const account = r.account.id ? `account ${r.account.id} (${r.account.token})` : `token ${r.account.token}`;
  const out = [`grok2api doctor · ${account} · ${r.base_url} · egress ${r.egress ?? 'unknown'}`, ''];
  for (const l of r.layers) {
    const ms = l.status === 'skip' ? '' : ` (${l.ms} ms)`;
    out.push(`  ${LABEL[l.status]}  ${l.title.padEnd(WIDTH)}${l.seen}${ms}`);
    if (l.next && l.status !== 'ok') out.push(`        ${' '.repeat(WIDTH)}→ ${l.next}`);
  }
  out.push('', `Verdict: ${r.verdict.toUpperCase()} — ${r.summary}`, `(${(r.duration_ms / 1000).toFixed(1)} s)`);
  return `${out.join('\n')}\n`;
}
