import type { UpstreamEvent } from '../core/events.js';
import type { Outcome } from '../store/types.js';
import { failureOutcome } from './pool.js';

/**
 * Passes a turn's events through and reports how it ended once it has, which releases the
 * account's slot: success when the events ran out or the consumer stopped on purpose (an
 * emulated limit cut the answer), a classified failure when the upstream broke, `aborted` only
 * when the client went away.
 */
export async function* reportingEvents(events: AsyncIterable<UpstreamEvent>, signal: AbortSignal, release: (o: Outcome) => Promise<void>) {
  let outcome: Outcome | null = null;
  try {
    for await (const e of events) yield e;
    outcome = { kind: 'success' };
  } catch (err) {
    outcome = signal.aborted ? { kind: 'aborted' } : failureOutcome(err);
    throw err;
  } finally {
    await release(outcome ?? (signal.aborted ? { kind: 'aborted' } : { kind: 'success' }));
  }
}
