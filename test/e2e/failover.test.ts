import { afterEach, describe, expect, it } from 'vitest';
import { expectValid } from '../helpers/openapi.js';
import { API_KEY, startStack, type Stack } from '../helpers/stack.js';
import { TRANSPORTS, isChatTurn, transportOverrides } from '../helpers/transports.js';

let stack: Stack;
afterEach(() => stack?.close());

const chat = (content: string) =>
  fetch(`${stack.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'grok-4', messages: [{ role: 'user', content }] }),
  });

async function accounts(): Promise<Record<string, any>> {
  const { tokens } = await (await stack.admin('GET', '/admin/api/tokens')).json();
  return Object.fromEntries(tokens.map((t: { id: string }) => [t.id, t]));
}

describe.each(TRANSPORTS)('failover across accounts over %s', (transport) => {
  it('moves past a 401 and a 429 account to a healthy one and records why', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('acct-A', { state: 'invalid' });
    stack.fake.setAccount('acct-B', { state: 'limited', retryAfterSec: 120 });
    stack.fake.setAccount('acct-C', { state: 'valid' });
    const [a, b, c] = await stack.importTokens(['acct-A', 'acct-B', 'acct-C']);
    const started = Date.now();
    // Whatever order the pool picks, three requests make it try A and B at least once.
    for (let i = 0; i < 3; i++) {
      const res = await chat(`failover ${i}`);
      expect(res.status).toBe(200);
      const body = await res.json();
      expectValid('CreateChatCompletionResponse', body);
      expect(body.choices[0].message.content).toBe(stack.fake.defaultAnswer);
    }
    const tried = new Set(stack.fake.requests.filter(isChatTurn).map((r) => r.token));
    expect(tried).toEqual(new Set(['acct-A', 'acct-B', 'acct-C']));
    const byId = await accounts();
    expect(byId[a!].status).toBe('invalid');
    expect(byId[a!].last_error).toContain('upstream_auth_failed');
    expect(byId[b!].status).toBe('cooling');
    const until = Date.parse(byId[b!].cooling_until);
    expect(until).toBeGreaterThanOrEqual(started + 119_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 121_000);
    expect(byId[c!].status).toBe('active');
    expect(byId[c!].use_count).toBe(3);
    for (const id of [a, b, c]) expect(byId[id!].in_flight).toBe(0);
  });

  it('answers 429 no_available_tokens with Retry-After when no account is usable', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('only-one', { state: 'limited', retryAfterSec: 90 });
    await stack.importTokens(['only-one']);
    const first = await chat('limited');
    expect(first.status).toBe(429);
    const again = await chat('limited again');
    expect(again.status).toBe(429);
    const body = await again.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe('no_available_tokens');
    expect(body.error.type).toBe('rate_limit_error');
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(80);
    expect(retryAfter).toBeLessThanOrEqual(90);
    // The second request never reached grok.com: the pool knew the account was cooling.
    expect(stack.fake.requests.filter(isChatTurn)).toHaveLength(1);
  });

  it('answers 502 upstream_auth_failed when every account is rejected, 503 when none exists', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    const none = await chat('nobody home');
    expect(none.status).toBe(503);
    expect((await none.json()).error.code).toBe('no_accounts');
    stack.fake.setAccount('dead-1', { state: 'invalid' });
    stack.fake.setAccount('dead-2', { state: 'invalid' });
    await stack.importTokens(['dead-1', 'dead-2']);
    const res = await chat('all dead');
    expect(res.status).toBe(502);
    const body = await res.json();
    expectValid('ErrorResponse', body);
    expect(body.error.code).toBe('upstream_auth_failed');
  });

  it('reports a failure after the first byte in-band, then [DONE]', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    await stack.importTokens(['mid-stream']);
    stack.fake.script('break-later', { kind: 'error-in-stream', variant: 'stream-errors', afterTokens: 2 });
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'grok-4', stream: true, messages: [{ role: 'user', content: 'break-later' }] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const data = text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
    expect(data.at(-1)).toBe('[DONE]');
    const err = JSON.parse(data.at(-2)!);
    expectValid('ErrorResponse', err);
    expect(JSON.parse(data[1]!).choices[0].delta.content).toBeTruthy();
  });

  it('turns an error in the first frame into a retry on another account', async () => {
    stack = await startStack({ overrides: transportOverrides(transport) });
    stack.fake.setAccount('antibot-acct', { state: 'antibot' });
    await stack.importTokens(['antibot-acct', 'fine-acct']);
    for (let i = 0; i < 2; i++) expect((await chat(`anti-bot ${i}`)).status).toBe(200);
    const byToken = new Map((await stack.runtime.services.store.listAccounts()).map((a) => [a.token, a]));
    // Anti-bot refusals say nothing about the account itself.
    expect(byToken.get('antibot-acct')!.status).toBe('active');
  });
});
