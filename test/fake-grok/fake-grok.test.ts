import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeGrok, type FakeGrok } from './server.js';
import { CHAT, chat, ndjson, post, readUntilError, responses, statusOf } from './test-helpers.js';

let fake: FakeGrok;
beforeAll(async () => {
  fake = await startFakeGrok();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

describe('answer streams', () => {
  it('streams the default plain answer as NDJSON ending with modelResponse and finalMetadata', async () => {
    const res = await chat(fake, '[user]: hi');
    expect(res.status).toBe(200);
    const lines = await ndjson(res);
    expect(lines[0].result.conversation.conversationId).toMatch(/^conv_/);
    const [user, ...rest] = responses(lines);
    expect(user.userResponse).toMatchObject({ message: '[user]: hi', sender: 'human' });
    const tokens = rest.filter((r) => 'token' in r);
    expect(tokens.every((t) => t.isThinking === false && t.messageTag === 'final' && t.responseId === tokens[0].responseId)).toBe(true);
    expect(tokens.map((t) => t.token)).toEqual(['Hello', ' from', ' fake', ' grok!']);
    const model = rest.at(-2).modelResponse;
    expect(model).toMatchObject({ message: fake.defaultAnswer, responseId: tokens[0].responseId, parentResponseId: user.userResponse.responseId });
    expect(rest.at(-1).finalMetadata).toBeTruthy();
  });

  it('uses the newest matching script and honours chunkSize', async () => {
    fake.script('pick-me', { kind: 'plain', answer: 'old' });
    fake.script(/pick-(me|you)/, { kind: 'plain', answer: 'abcdefg', chunkSize: 3 });
    fake.script((p) => p.endsWith('never'), { kind: 'plain', answer: 'nope' });
    const tokens = responses(await ndjson(await chat(fake, 'please pick-me'))).filter((r) => 'token' in r);
    expect(tokens.map((t) => t.token)).toEqual(['abc', 'def', 'g']);
  });

  it('sends tagged reasoning frames before the answer', async () => {
    fake.script('ponder', { kind: 'reasoning', thinking: ['Thinking about it', '- checking sources', 'weighing'], answer: 'Forty-two.' });
    const rs = responses(await ndjson(await chat(fake, 'ponder')));
    const thinking = rs.filter((r) => r.isThinking === true);
    expect(thinking.map((t) => [t.token, t.messageTag, t.messageStepId])).toEqual([
      ['Thinking about it', 'header', 0],
      ['- checking sources', 'summary', 1],
      ['weighing', 'analysis', 2],
    ]);
    expect(thinking.every((t) => typeof t.rolloutId === 'string')).toBe(true);
    const firstAnswer = rs.findIndex((r) => r.messageTag === 'final');
    expect(firstAnswer).toBeGreaterThan(rs.indexOf(thinking.at(-1)));
    expect(rs.filter((r) => r.messageTag === 'final').map((r) => r.token).join('')).toBe('Forty-two.');
    expect(rs.find((r) => r.modelResponse).modelResponse.message).toBe('Forty-two.');
  });

  it('sends a search tool card, its results, citation cards and a render tag', async () => {
    fake.script('look it up', { kind: 'search', answer: 'Found it.', sources: [{ url: 'https://example.com/a', title: 'A' }, { url: 'https://example.org/b' }] });
    const rs = responses(await ndjson(await chat(fake, 'look it up')));
    const card = rs.find((r) => r.messageTag === 'tool_usage_card');
    expect(card.toolUsageCard.webSearch.args.query).toBe('look it up');
    expect(card.token).toContain('<xai:tool_name>web_search</xai:tool_name>');
    const results = rs.find((r) => r.messageTag === 'raw_function_result');
    expect(results.toolUsageCardId).toBe(card.toolUsageCardId);
    expect(results.webSearchResults.results).toEqual([
      { url: 'https://example.com/a', title: 'A', preview: '' },
      { url: 'https://example.org/b', title: 'example.org', preview: '' },
    ]);
    const cards = rs.filter((r) => r.cardAttachment).map((r) => JSON.parse(r.cardAttachment.jsonData));
    expect(cards.map((c) => [c.id, c.url])).toEqual([['cite_1', 'https://example.com/a'], ['cite_2', 'https://example.org/b']]);
    const text = rs.filter((r) => r.messageTag === 'final').map((r) => r.token).join('');
    expect(text).toMatch(/^Found it\.<grok:render card_id="cite_1" card_type="citation" type="render_inline_citation"><\/grok:render><grok:render card_id="cite_2"/);
  });

  it('sends in-stream errors first, or after some answer tokens', async () => {
    fake.script('boom-first', { kind: 'error-in-stream', variant: 'antibot' });
    expect(await ndjson(await chat(fake, 'boom-first'))).toEqual([{ error: { code: 7, message: 'Request rejected by anti-bot rules.', details: [] } }]);

    fake.script('boom-late', { kind: 'error-in-stream', variant: 'stream-errors', afterTokens: 2 });
    const lines = await ndjson(await chat(fake, 'boom-late'));
    expect(responses(lines).filter((r) => r.messageTag === 'final').map((r) => r.token)).toEqual(['Hello', ' from']);
    expect(lines.at(-1)).toEqual({ result: { response: { modelResponse: { streamErrors: [{ message: 'upstream stream failed' }] } } } });

    fake.script('rl', { kind: 'error-in-stream', variant: 'rate-limited' });
    expect((await ndjson(await chat(fake, 'rl')))[0]).toEqual({ error: { message: 'rate limited', code: 8 } });
    fake.script('usage', { kind: 'error-in-stream', variant: 'usage-limit' });
    expect((await ndjson(await chat(fake, 'usage')))[0].result.response.error.message).toContain('usage limit');
    // Failed turns cost nothing.
    expect(fake.quota('tok-1', 'fast').remaining).toBe(30);
  });

  it('sends raw lines verbatim', async () => {
    fake.script('raw', { kind: 'raw', lines: ['data: {"a":1}', '', '[DONE]'] });
    expect(await (await chat(fake, 'raw')).text()).toBe('data: {"a":1}\n\n[DONE]\n');
  });
});

describe('account states', () => {
  const bodyOf = async (res: Response) => ({ status: res.status, body: await res.json() });

  it('answers each failure state with its status and body', async () => {
    fake.setAccount('bad', { state: 'invalid' });
    fake.setAccount('bot', { state: 'antibot' });
    fake.setAccount('blk', { state: 'blocked' });
    fake.setAccount('lim', { state: 'limited', retryAfterSec: 42 });
    expect(await bodyOf(await chat(fake, 'x', 'bad'))).toEqual({ status: 401, body: { error: { code: 16, message: 'invalid-credentials', details: [] } } });
    expect(await bodyOf(await chat(fake, 'x', null))).toEqual({ status: 401, body: { error: { code: 16, message: 'invalid-credentials', details: [] } } });
    expect(await bodyOf(await chat(fake, 'x', 'bot'))).toEqual({ status: 403, body: { error: { code: 7, message: 'Request rejected by anti-bot rules.', details: [] } } });
    const blocked = await chat(fake, 'x', 'blk');
    expect(blocked.status).toBe(403);
    expect(await blocked.text()).toContain('blocked-user');
    const limited = await chat(fake, 'x', 'lim');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('42');
    expect(await limited.json()).toEqual({ error: { code: 8, message: 'Too many requests', details: [] } });
    // Rate-limits shares the session checks, and reports a limited account as exhausted.
    expect(await statusOf(post(fake, '/rest/rate-limits', { modelName: 'fast' }, 'bad'))).toBe(401);
    expect((await (await post(fake, '/rest/rate-limits', { modelName: 'fast' }, 'lim')).json()).remainingQueries).toBe(0);
  });

  it('sends garbage with a 200 for a garbage account', async () => {
    fake.setAccount('junk', { state: 'garbage' });
    const res = await chat(fake, 'x', 'junk');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(text)).toThrow();
    for (const line of text.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).toThrow();
  });

  it('destroys the socket after N lines for a drop account', async () => {
    fake.setAccount('dropper', { state: 'drop', dropAfterFrames: 4 });
    const res = await chat(fake, 'x', 'dropper');
    expect(res.status).toBe(200);
    const { text, error } = await readUntilError(res);
    expect(error).toBeTruthy();
    expect(text.split('\n').filter(Boolean)).toHaveLength(4);
    const rec = await fake.waitFor((r) => r.token === 'dropper' && r.closedAt !== null);
    expect(rec.clientAborted).toBe(false);
    expect(fake.quota('dropper', 'fast').remaining).toBe(30);
  });

  it('delays the first byte', async () => {
    fake.setAccount('slow', { firstByteDelayMs: 120 });
    const started = Date.now();
    const res = await chat(fake, 'x', 'slow');
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    expect(res.status).toBe(200);
    await res.text();
  });

  it('refuses a missing x-statsig-id when asked to', async () => {
    const strict = await startFakeGrok({ requireStatsig: true });
    try {
      const denied = await chat(strict, 'x', 'tok', 'fast', { headers: { 'x-statsig-id': '' } });
      expect(denied.status).toBe(403);
      expect((await denied.json()).error.code).toBe(7);
      const ok = await chat(strict, 'x', 'tok');
      expect(ok.status).toBe(200);
      await ok.text();
    } finally {
      await strict.close();
    }
  });
});

describe('modes and quotas', () => {
  it('rejects modes the tier lacks', async () => {
    fake.setAccount('sup', { tier: 'super' });
    fake.setAccount('hvy', { tier: 'heavy' });
    const badClient = { error: { code: 3, message: 'Invalid request. Please update your client', details: [] } };
    const expert = await chat(fake, 'x', 'tok-1', 'expert');
    expect(expert.status).toBe(400);
    expect(await expert.json()).toEqual(badClient);
    for (const mode of ['auto', 'fast', 'expert', 'grok-420-computer-use-sa']) expect(await statusOf(chat(fake, 'x', 'sup', mode))).toBe(200);
    expect(await statusOf(chat(fake, 'x', 'sup', 'heavy'))).toBe(400);
    expect(await statusOf(chat(fake, 'x', 'hvy', 'heavy'))).toBe(200);
    expect(await statusOf(post(fake, CHAT, { message: 'x' }))).toBe(400); // no modeId at all
    expect(await statusOf(post(fake, '/rest/rate-limits', { modelName: 'expert' }))).toBe(400);
  });

  it('reports quota windows per tier, decrements per finished turn and answers 429 at zero', async () => {
    fake.setAccount('sup', { tier: 'super' });
    const limits = async (token: string, modelName: string) => (await post(fake, '/rest/rate-limits', { modelName }, token)).json();
    expect(await limits('sup', 'auto')).toEqual({ windowSizeSeconds: 7200, remainingQueries: 50, totalQueries: 50, lowEffortRateLimits: null, highEffortRateLimits: null });
    expect(await limits('tok-1', 'fast')).toMatchObject({ windowSizeSeconds: 86400, remainingQueries: 30, totalQueries: 30 });
    expect(fake.quota('sup', 'fast')).toEqual({ remaining: 140, total: 140, windowSeconds: 7200 });

    for (let i = 0; i < 30; i++) {
      const res = await chat(fake, `q${i}`);
      expect(res.status).toBe(200);
      await res.text();
      expect(fake.quota('tok-1', 'fast').remaining).toBe(29 - i);
    }
    expect((await limits('tok-1', 'fast')).remainingQueries).toBe(0);
    const refused = await chat(fake, 'one more');
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(86_000);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect((await refused.json()).error.code).toBe(8);
    // Other accounts and modes are unaffected.
    expect(await statusOf(chat(fake, 'x', 'sup', 'fast'))).toBe(200);
  });
});
