import type { Logger } from 'pino';

/**
 * What grok.com sent that this server does not know: frame kinds, mgw event types and chunk
 * keys, text channels, REST message tags and card types. grok.com changes its web protocol
 * every few weeks (about twelve visible changes in 2026), and the first sign is usually a new
 * name in the stream. Such a frame is never fatal: it is counted here (shown by
 * `/admin/api/stats` as `upstream_unknown`) and logged once per kind and name at `warn`, so a
 * drift is noticed without flooding the log on every turn.
 *
 * Process-wide on purpose: the mappers that notice unknown frames live one per turn, deep in the
 * transports, and the counts are a diagnostic of this process (each instance reports its own).
 */
export type UnknownKind = 'rest_frame' | 'rest_tag' | 'mgw_event' | 'mgw_chunk' | 'mgw_channel' | 'mgw_phase' | 'card';

/** Distinct names kept per process; past this, new names are only counted under "(other)". */
const MAX_NAMES = 500;
/** Longest name kept (names come from the upstream and are not trusted to be short). */
const MAX_NAME_LENGTH = 80;

class UnknownFrames {
  private readonly counts = new Map<string, number>();
  private log: Logger | undefined;

  /** The logger the warnings go to (the runtime's); without one they are only counted. */
  useLogger(log: Logger): void {
    this.log = log;
  }

  note(kind: UnknownKind, name: string): void {
    let key = `${kind}:${name.slice(0, MAX_NAME_LENGTH)}`;
    const seen = this.counts.get(key);
    if (seen !== undefined) {
      this.counts.set(key, seen + 1);
      return;
    }
    if (this.counts.size >= MAX_NAMES) key = `${kind}:(other)`;
    const first = !this.counts.has(key);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (first) this.log?.warn({ kind, name: key.slice(kind.length + 1) }, 'grok.com sent something this server does not know; it was skipped (upstream protocol drift?)');
  }

  /** Counts by `kind:name`, largest first. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}

export const unknownFrames = new UnknownFrames();
