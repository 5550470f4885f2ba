/**
 * Operator-triggered account setup: the NSFW enablement (ToS, birth date, feature switch) for
 * some or all accounts, `token.nsfw_concurrency` at a time. Success tags the account `nsfw`
 * (models or client keys restricted to that tag then use it); a rejected credential marks the
 * account invalid, as on the chat path.
 */
import type { Logger } from 'pino';
import type { AccountUpstream } from '../upstream/types.js';
import type { Config } from '../config/schema.js';
import { UpstreamError } from '../errors.js';
import { mapLimit } from '../lib/map-limit.js';
import { kindOf, type Store } from '../store/types.js';

export interface NsfwResult {
  id: string;
  ok: boolean;
  /** Steps that succeeded, in order. */
  steps: string[];
  error?: string;
}

export const NSFW_TAG = 'nsfw';

export class AccountSetup {
  constructor(
    private readonly store: Store,
    /** grok.com's account upstream (the only provider with adult-content settings). */
    private readonly grok: AccountUpstream,
    private readonly config: () => Config,
    private readonly log: Logger,
  ) {}

  async enableNsfw(ids?: string[]): Promise<NsfwResult[]> {
    const all = await this.store.listAccounts();
    const targets = ids ? ids.map((id) => all.find((a) => a.id === id) ?? id) : all.filter((a) => a.status !== 'invalid' && kindOf(a) === 'grok');
    return mapLimit(targets, this.config().token.nsfw_concurrency, async (acc): Promise<NsfwResult> => {
      if (typeof acc === 'string') return { id: acc, ok: false, steps: [], error: 'no such account' };
      if (kindOf(acc) !== 'grok') return { id: acc.id, ok: false, steps: [], error: 'not a grok.com account' };
      const steps: string[] = [];
      try {
        await this.grok.enableNsfw(acc.token, (s) => steps.push(s));
        const fresh = await this.store.getAccount(acc.id);
        if (fresh && !fresh.tags.includes(NSFW_TAG)) await this.store.updateAccount(acc.id, { tags: [...fresh.tags, NSFW_TAG] });
        return { id: acc.id, ok: true, steps };
      } catch (err) {
        if (err instanceof UpstreamError && err.effect === 'invalid') await this.store.markInvalid(acc.id, `${err.code}: ${err.message}`).catch(() => {});
        this.log.warn({ account: acc.id, step: steps.length, err: (err as Error).message }, 'nsfw enablement failed');
        return { id: acc.id, ok: false, steps, error: (err as Error).message };
      }
    });
  }
}
