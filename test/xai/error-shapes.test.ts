import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { ANSWER, startFakeXai, type FakeXai } from '../fake-xai/server.js';

/**
 * xAI's failures reach the pool the same whichever body they come in: the OpenAI envelope
 * `{error: {message, type, code}}` or the `{code, error}` form of xAI's gRPC gateway. 401 → the
 * key is invalid, 429 → cooling until the `x-ratelimit-reset-*` headers say, 403 out of credits →
 * exhausted; the request moves on to a working key. An unknown model is the provider's 404 with
 * its message, not a pool failure.
 */
describe.each(['openai', 'grpc'] as const)('xAI error bodies, %s shape', (errorShape) => {
  let stack: Stack;
  let xai: FakeXai;
  let ids: string[];
  const post = (model: string) =>
    fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
  const tokens = async () => ((await (await stack.admin('GET', '/admin/api/tokens')).json()) as { tokens: { id: string; status: string; cooling_until: string | null; quotas: Record<string, { remaining: number }> }[] }).tokens;

  beforeAll(async () => {
    xai = await startFakeXai({ errorShape });
    xai.key('xai-shape-dead-01', 'invalid');
    xai.key('xai-shape-busy-02', 'rate_limited');
    xai.key('xai-shape-poor-03', 'no_credits');
    xai.key('xai-shape-good-04', 'ok');
    stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    ids = await stack.importTokens(['xai-shape-dead-01', 'xai-shape-busy-02', 'xai-shape-poor-03'], { kind: 'xai' });
  });
  afterAll(async () => {
    await stack.close();
    await xai.close();
  });

  it('maps 401, 429 and out-of-credits into the pool, then serves on a working key', async () => {
    const failed = await post('xai/grok-4');
    expect([429, 502]).toContain(failed.status);
    const byId = new Map((await tokens()).map((t) => [t.id, t]));
    expect(byId.get(ids[0]!)!.status).toBe('invalid');
    const busy = byId.get(ids[1]!)!;
    expect(busy.status).toBe('cooling');
    const wait = Date.parse(busy.cooling_until!) - Date.now();
    expect(wait).toBeGreaterThan(4000);
    expect(wait).toBeLessThanOrEqual(7000);
    expect(byId.get(ids[2]!)!.quotas['grok-4']).toMatchObject({ remaining: 0 });
    // Each failure was one request to xAI: the dead, busy and poor keys were each tried once.
    expect(new Set(xai.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.key))).toEqual(new Set(['xai-shape-dead-01', 'xai-shape-busy-02', 'xai-shape-poor-03']));

    await stack.importTokens(['xai-shape-good-04'], { kind: 'xai' });
    const ok = await post('xai/grok-4');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(ANSWER);
  });

  it('an unknown model is a 404 carrying xAI\'s message', async () => {
    const res = await post('xai/grok-nope');
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('model_not_found');
    expect(body.error.message).toContain('The model grok-nope does not exist');
  });
});
