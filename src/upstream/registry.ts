import type { ProviderName } from '../core/models.js';
import { UpstreamError } from '../errors.js';
import type { AccountUpstream, ChatUpstream, ImageUpstream, Provider, VideoUpstream } from './types.js';
import { eventOnActiveSpan, tracingOn } from '../tracing/tracing.js';

/**
 * The providers this server speaks to, by name. bootstrap.ts builds it with one line per provider
 * (`registry.add(createXaiProvider(config))`); everything else finds an upstream through the
 * lease's provider, so adding one is a folder under src/upstream/ plus that line.
 */
export class ProviderRegistry {
  private readonly byName = new Map<ProviderName, Provider>();

  add(p: Provider): this {
    this.byName.set(p.name, p);
    return this;
  }

  get(name: ProviderName): Provider | undefined {
    return this.byName.get(name);
  }

  names(): ProviderName[] {
    return [...this.byName.keys()];
  }

  all(): Provider[] {
    return [...this.byName.values()];
  }

  /**
   * Chat dispatched by the lease's provider (grok when the lease names none). Traced: the turn is
   * primed (its first event arrived) — an event on the attempt's span.
   */
  chat(): ChatUpstream {
    return {
      openChat: (intent, ctx) => {
        const primed = this.require(ctx.lease.provider ?? 'grok').chat.openChat(intent, ctx);
        return tracingOn() ? primed.then((events) => (eventOnActiveSpan('upstream.first_event'), events)) : primed;
      },
    };
  }

  /** The image upstream of a provider, when it has one. */
  images(name: ProviderName): ImageUpstream | undefined {
    return this.byName.get(name)?.images;
  }

  /** The video upstream of a provider, when it has one. */
  video(name: ProviderName): VideoUpstream | undefined {
    return this.byName.get(name)?.video;
  }

  /** The account upstream of a provider, when it has one. */
  account(name: ProviderName): AccountUpstream | undefined {
    return this.byName.get(name)?.account;
  }

  private require(name: ProviderName): Provider {
    const p = this.byName.get(name);
    if (!p) throw new UpstreamError(502, 'upstream_unavailable', `No upstream named '${name}' is configured.`, 'fail', 'none');
    return p;
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((p) => p.close()));
  }
}
