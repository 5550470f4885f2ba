import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { ANSWER, startFakeXai, type FakeXai } from '../fake-xai/server.js';

/**
 * Client keys limited to providers, end to end: a grok.com account and an xAI key in the pool,
 * grok-4 served by both (grok first). A key limited to xai is served by the xAI key even though
 * grok.com could serve it; a key limited to grok never reaches the xAI API; a key whose providers
 * cannot serve the model gets 403 before anything is leased.
 */
describe('client keys limited to providers', () => {
  let stack: Stack;
  let xai: FakeXai;
  const xaiChats = () => xai.requests.filter((r) => r.path === '/v1/chat/completions').length;

  const post = (key: string, path: string, body: unknown) =>
    fetch(`${stack.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const chat = (key: string, model: string) => post(key, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] });
  async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string; providers: string[] | null }> {
    const res = await stack.admin('POST', '/admin/api/keys', body);
    expect(res.status).toBe(200);
    return (await res.json()) as { id: string; key: string; providers: string[] | null };
  }
  async function expectError(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    const body = await res.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe(code);
  }

  beforeAll(async () => {
    xai = await startFakeXai();
    xai.key('xai-limit-key-0001', 'ok');
    stack = await startStack({ overrides: { xai: { base_url: xai.baseUrl } } });
    await stack.importTokens(['xai-limit-key-0001'], { kind: 'xai' });
    await stack.importTokens(['grok-limit-acct']);
    stack.fake.setAccount('grok-limit-acct', { state: 'valid' });
  });
  afterAll(async () => {
    await stack.close();
    await xai.close();
  });

  it('stores the limit: create, list, patch to another provider and back to every provider', async () => {
    const created = await createKey({ name: 'xai-only', providers: ['xai', 'xai'] });
    expect(created.providers).toEqual(['xai']);
    const listed = ((await (await stack.admin('GET', '/admin/api/keys')).json()) as { keys: { id: string; providers: string[] | null }[] }).keys;
    expect(listed.find((k) => k.id === created.id)!.providers).toEqual(['xai']);
    const patched = await stack.admin('PATCH', `/admin/api/keys/${created.id}`, { providers: ['grok'] });
    expect(((await patched.json()) as { providers: string[] }).providers).toEqual(['grok']);
    const cleared = await stack.admin('PATCH', `/admin/api/keys/${created.id}`, { providers: null });
    expect(((await cleared.json()) as { providers: null }).providers).toBeNull();
    expect((await createKey({ name: 'unlimited' })).providers).toBeNull();
  });

  it('refuses unknown providers and an empty list with invalid_value', async () => {
    await expectError(await stack.admin('POST', '/admin/api/keys', { name: 'x', providers: ['openai'] }), 400, 'invalid_value');
    await expectError(await stack.admin('POST', '/admin/api/keys', { name: 'x', providers: [] }), 400, 'invalid_value');
  });

  it('an unlimited key is served by grok.com first; an xai-only key by the xAI API for the same model', async () => {
    const { key: any } = await createKey({ name: 'any-provider' });
    const before = xaiChats();
    const viaGrok = await chat(any, 'grok-4');
    expect(viaGrok.status).toBe(200);
    expect(((await viaGrok.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).not.toBe(ANSWER);
    expect(xaiChats()).toBe(before);

    const { key: xaiOnly } = await createKey({ name: 'xai-served', providers: ['xai'] });
    const viaXai = await chat(xaiOnly, 'grok-4');
    expect(viaXai.status).toBe(200);
    expect(((await viaXai.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(ANSWER);
    expect(xaiChats()).toBe(before + 1);
    // The Responses route (turn.ts) honours the limit too.
    const resp = await post(xaiOnly, '/v1/responses', { model: 'grok-4', input: 'hi' });
    expect(resp.status).toBe(200);
    expect(xaiChats()).toBe(before + 2);
  });

  it('403 model_not_allowed when none of the key\'s providers serves the model, before any upstream call', async () => {
    const { key: grokOnly } = await createKey({ name: 'grok-only', providers: ['grok'] });
    const before = xaiChats();
    await expectError(await chat(grokOnly, 'xai/grok-4'), 403, 'model_not_allowed');
    // The Anthropic route answers in its own error shape.
    const msg = await post(grokOnly, '/v1/messages', { model: 'xai/grok-4', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(msg.status).toBe(403);
    expect(((await msg.json()) as { error: { type: string } }).error.type).toBe('permission_error');
    expect(xaiChats()).toBe(before);

    const { key: xaiOnly } = await createKey({ name: 'xai-no-grok-media', providers: ['xai'] });
    // grok.com-only models: chat, image generation (model defaulted by the route), video tasks.
    await expectError(await chat(xaiOnly, 'grok-3'), 403, 'model_not_allowed');
    await expectError(await post(xaiOnly, '/v1/images/generations', { prompt: 'a cat', response_format: 'b64_json' }), 403, 'model_not_allowed');
    await expectError(await post(xaiOnly, '/v1/videos', { prompt: 'a cat' }), 403, 'model_not_allowed');
    // Its own provider's image model is served.
    const img = await post(xaiOnly, '/v1/images/generations', { model: 'xai/grok-2-image', prompt: 'a cat', response_format: 'b64_json' });
    expect(img.status).toBe(200);
  });
});
