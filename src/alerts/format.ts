/**
 * The bodies an alert webhook receives: a generic JSON object, or the shapes Slack and Discord
 * incoming webhooks accept (`{text}` and `{content, embeds}`).
 */

export type AlertKind = 'pool_exhausted' | 'account_invalid' | 'usable_accounts_low' | 'quota_low';
export type AlertFormat = 'generic' | 'slack' | 'discord';

export interface Alert {
  kind: AlertKind;
  severity: 'warning' | 'critical';
  /** One line, e.g. "No account could serve a request". */
  title: string;
  /** A few sentences: what happened and what to do. */
  message: string;
  /** Machine-readable facts (ids, counts, thresholds); never tokens. */
  details: Record<string, unknown>;
  /** Epoch ms the condition was seen. */
  at: number;
  /** Events of this kind this instance did not send because of alerts.min_interval_sec, since the last one it sent. */
  suppressed: number;
}

/** Discord embed colours: amber for warnings, red for critical. */
const COLOR = { warning: 0xf0a020, critical: 0xd03030 } as const;
/** Discord refuses content over 2000 characters and embed descriptions over 4096. */
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function renderAlert(alert: Alert, format: AlertFormat, instance: string): Record<string, unknown> {
  const at = new Date(alert.at).toISOString();
  const suppressed = alert.suppressed > 0 ? ` (${alert.suppressed} more of this kind were held back by alerts.min_interval_sec)` : '';
  switch (format) {
    case 'slack':
      return { text: `*[grok2api] ${alert.title}*\n${alert.message}${suppressed}\n_${alert.kind} · ${instance} · ${at}_` };
    case 'discord':
      return {
        content: clip(`[grok2api] ${alert.title}`, 2000),
        embeds: [
          {
            title: clip(alert.title, 256),
            description: clip(`${alert.message}${suppressed}`, 4096),
            color: COLOR[alert.severity],
            timestamp: at,
            footer: { text: clip(`${alert.kind} · ${instance}`, 2048) },
          },
        ],
      };
    default:
      return {
        source: 'grok2api',
        kind: alert.kind,
        severity: alert.severity,
        title: alert.title,
        message: alert.message,
        details: alert.details,
        suppressed: alert.suppressed,
        instance,
        at,
      };
  }
}
