import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';

/** The ids of the original Grok2API README: every one must keep working. */
const README_IDS = ['grok-3', 'grok-3-fast', 'grok-4', 'grok-4-mini', 'grok-4-fast', 'grok-4-heavy', 'grok-4.1-fast', 'grok-4.1-expert', 'grok-4.1-thinking'];

describe('the model catalogue as of 2026-12', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('lists today\'s modes, the newer media names and every README id, saying what is an alias of what', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: API_KEY, maxRetries: 0 });
    const res = await fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const list = await res.json();
    expectValid('ListModelsResponse', list);
    const byId = new Map<string, any>(list.data.map((m: any) => [m.id, m]));
    for (const id of [...README_IDS, 'grok-chat-fast', 'grok-chat-expert', 'grok-4.3-beta', 'grok-build', 'grok-imagine-image-2.0', 'grok-imagine-image', 'grok-imagine-image-edit', 'grok-imagine-video']) {
      expect(byId.has(id), id).toBe(true);
    }
    expect(byId.get('grok-3').alias_of).toBe('grok-chat-fast');
    expect(byId.get('grok-4-mini').alias_of).toBe('grok-chat-fast');
    expect(byId.get('grok-4.1-thinking').alias_of).toBe('grok-chat-expert');
    expect(byId.get('grok-4-heavy').alias_of).toBe('grok-chat-heavy');
    expect(byId.get('grok-imagine-image').alias_of).toBe('grok-imagine-1.0');
    expect(byId.get('grok-imagine-image-edit').alias_of).toBe('grok-imagine-1.0-edit');
    expect(byId.get('grok-imagine-video').alias_of).toBe('grok-imagine-1.0-video');
    expect(byId.get('grok-chat-fast').aliases).toEqual(expect.arrayContaining(['grok-3', 'grok-3-fast', 'grok-4-mini', 'grok-4-fast', 'grok-4.1-fast']));
    expect(byId.get('grok-4').alias_of).toBeUndefined();
    expect(byId.get('grok-4.3-beta').alias_of).toBeUndefined();

    const one = await client.models.retrieve('grok-4.1-expert');
    expect(one).toMatchObject({ id: 'grok-4.1-expert', alias_of: 'grok-chat-expert' });
  });

  it('serves an image alias like its model, and grok-imagine-image-2.0 in pro quality', async () => {
    await stack.importTokens(['cat-img']);
    const gen = (model: string) =>
      fetch(`${stack.url}/v1/images/generations`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, prompt: `pro check ${model}`, response_format: 'b64_json' }) });
    for (const [model, pro] of [['grok-imagine-image-2.0', true], ['grok-imagine-image', false]] as const) {
      const res = await gen(model);
      expect(res.status).toBe(200);
      const sent = stack.fake.requests.filter((r) => r.path === '/ws/imagine/listen' && r.body?.item?.content?.[0]?.text === `pro check ${model}`).at(-1)!;
      expect(sent.body.item.content[0].properties.enable_pro).toBe(pro);
    }
  });

  it('refuses an alias that names no model, or an alias of an alias, naming the entry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'g2a-cat-'));
    const withModels = (models: unknown[]) => () => loadConfig({ env: { DATA_DIR: dir }, overrides: { models } as never });
    expect(withModels([{ id: 'x', alias_of: 'nope' }])).toThrow(ConfigError);
    expect(withModels([{ id: 'x', alias_of: 'nope' }])).toThrow(/alias_of.*'nope' is not a model id/);
    expect(withModels([{ id: 'x', alias_of: 'grok-3' }])).toThrow(/'grok-3' is itself an alias; name 'grok-chat-fast'/);
    expect(withModels([{ id: 'x', alias_of: 'grok-chat-fast', modes: ['fast'] }])).toThrow(/either modes or alias_of/);
    expect(withModels([{ id: 'x', alias_of: 'grok-chat-fast' }])()).toBeTruthy();
  });
});

describe.each(TRANSPORTS)('catalogue modes over %s', (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    await stack.importTokens(['cat-basic']);
    await stack.importTokens(['cat-super'], { tier: 'super' });
    stack.fake.setAccount('cat-super', { tier: 'super' });
  });
  afterAll(() => stack.close());

  const chat = (model: string, content: string) =>
    fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) });

  it.each([
    ['grok-3', 'fast'],
    ['grok-4-mini', 'fast'],
    ['grok-4.1-expert', 'expert'],
    ['grok-4.3-beta', 'grok-420-computer-use-sa'],
    ['grok-build', 'build'],
  ])('%s runs in mode %s and answers under the id it was asked by', async (model, mode) => {
    const res = await chat(model, `catalogue ${model}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expectValid('CreateChatCompletionResponse', body);
    expect(body.model).toBe(model);
    const turn = stack.fake.requests.filter((r) => isChatTurn(r) && r.body?.message?.includes(`catalogue ${model}`)).at(-1)!;
    expect(turn.body.modeId).toBe(mode);
    if (mode === 'grok-420-computer-use-sa' || mode === 'expert') expect(turn.token).toBe('cat-super');
  });
});
