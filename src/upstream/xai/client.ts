import { Agent, request, type Dispatcher } from 'undici';
import type { Config } from '../../config/schema.js';
import { UpstreamError } from '../../errors.js';
import { classifyXaiNetworkError, classifyXaiResponse } from './classify.js';

/**
 * The one HTTP client of the official xAI API: it owns the base URL, the timeouts, the headers and
 * the classification of failures, so the chat, image and model calls only say what they want.
 * The xAI API is an ordinary HTTPS API with key authentication: Node's own client (undici), no
 * browser impersonation (that is grok.com's transport, src/upstream/grok/transport/).
 */
export interface XaiResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export class XaiClient {
  private agent: Agent | null = null;
  private agentKey = '';

  constructor(private readonly config: () => Config) {}

  /** One keep-alive agent per timeout setting (a settings change makes a new one for the next call). */
  private dispatcher(): Agent {
    const t = this.config().timeout;
    const key = `${t.connect_sec}/${t.first_byte_sec}/${t.idle_sec}`;
    if (!this.agent || key !== this.agentKey) {
      void this.agent?.close();
      this.agent = new Agent({ connect: { timeout: t.connect_sec * 1000 }, headersTimeout: t.first_byte_sec * 1000, bodyTimeout: t.idle_sec * 1000 });
      this.agentKey = key;
    }
    return this.agent;
  }

  /** `XAI_BASE_URL` + path, with one slash between them whatever the operator wrote. */
  url(path: string): string {
    return `${this.config().xai.base_url.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  }

  /**
   * Sends one request with the key and resolves on a 2xx status with the body unread. Any other
   * status, and network failures and timeouts, reject with a classified `UpstreamError` (the body
   * read for the error message, the rate-limit headers for the cooldown).
   */
  async send(method: 'GET' | 'POST', path: string, key: string, body: unknown, signal: AbortSignal): Promise<XaiResponse> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.url(path), {
        method,
        dispatcher: this.dispatcher(),
        signal,
        headers: {
          authorization: `Bearer ${key}`,
          accept: 'application/json, text/event-stream',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw classifyXaiNetworkError(err);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, headers: res.headers, body: res.body };
    const text = await res.body.text().catch(() => '');
    throw classifyXaiResponse(res.statusCode, res.headers, text, this.config().xai.exhausted_retry_sec * 1000);
  }

  /** A JSON call: the parsed body of a 2xx answer. */
  async json<T>(method: 'GET' | 'POST', path: string, key: string, body: unknown, signal: AbortSignal): Promise<T> {
    const res = await this.send(method, path, key, body, signal);
    try {
      return (await res.body.json()) as T;
    } catch {
      throw new UpstreamError(502, 'upstream_bad_response', 'The xAI API answered with a body that is not JSON.', 'retry-other', 'none', undefined, res.status);
    }
  }

  async close(): Promise<void> {
    await this.agent?.close();
    this.agent = null;
  }
}
