import type { Config } from '../../config/schema.js';
import type { XaiClient } from './client.js';

/** An entry of xAI's `GET /models` (OpenAI list shape). */
export interface XaiModel {
  id: string;
  created: number;
  ownedBy: string;
}

/**
 * xAI's model list, fetched with one of the pool's xAI keys and reused for `xai.models_ttl_sec`.
 * A failed fetch keeps the last good list (empty at first): /v1/models must answer even when xAI
 * does not.
 */
export class XaiModelList {
  private cached: { at: number; models: XaiModel[] } | null = null;
  private inflight: Promise<XaiModel[]> | null = null;

  constructor(
    private readonly client: XaiClient,
    private readonly config: () => Config,
  ) {}

  async list(key: string | null): Promise<XaiModel[]> {
    const ttl = this.config().xai.models_ttl_sec * 1000;
    if (this.cached && Date.now() - this.cached.at < ttl) return this.cached.models;
    if (!key) return this.cached?.models ?? [];
    this.inflight ??= this.fetch(key).finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async fetch(key: string): Promise<XaiModel[]> {
    try {
      const body = await this.client.json<{ data?: { id?: unknown; created?: unknown; owned_by?: unknown }[] }>('GET', 'models', key, undefined, AbortSignal.timeout(10_000));
      const models = (body.data ?? [])
        .filter((m) => typeof m.id === 'string')
        .map((m) => ({ id: m.id as string, created: typeof m.created === 'number' ? m.created : 0, ownedBy: typeof m.owned_by === 'string' ? m.owned_by : 'xai' }));
      this.cached = { at: Date.now(), models };
      return models;
    } catch {
      return this.cached?.models ?? [];
    }
  }
}
