/**
 * The primed-turn watchdog (turn-core.ts, watchdog.ts) on both chat transports: a turn that goes
 * silent after content arrived is cut by timeout.idle_sec, not by the first-byte timer still
 * pending from the request, and the timeout names the limit that ran out. first_byte_sec is set
 * far beyond the test's own timeout, so a stall cut by the first-byte timer never finishes here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { UpstreamEvent } from '../../src/core/events.js';
import type { ChatIntent } from '../../src/core/intent.js';
import { UpstreamError } from '../../src/errors.js';
import type { Lease } from '../../src/store/types.js';
import { GrokClient } from '../../src/upstream/grok/client.js';
import { createRestChatUpstream } from '../../src/upstream/grok/rest-chat.js';
import { createGrokTransport, type GrokTransport } from '../../src/upstream/grok/transport/index.js';
import { Watchdog } from '../../src/upstream/grok/watchdog.js';
import { createWsChatUpstream } from '../../src/upstream/grok/ws-chat.js';
import { startFakeGrok, type FakeGrok } from '../fake-grok/server.js';
import { TRANSPORTS } from '../helpers/transports.js';
import { testConfig } from './helpers.js';

let fake: FakeGrok;
let transport: GrokTransport;
let n = 0;

beforeAll(async () => {
  fake = await startFakeGrok();
  transport = await createGrokTransport(() => testConfig());
});
afterAll(async () => {
  await transport.close();
  await fake.close();
});

const intent = (text: string, thinking: boolean): ChatIntent => ({
  kind: 'chat',
  model: { id: 'grok-4', kind: 'chat', modes: ['fast'], tier: 'basic', thinking: true, cost: 1, ownedBy: 'xai', created: 0 },
  messages: [{ role: 'user', parts: [text] }],
  thinking,
});
const lease = (token: string): Lease => ({ leaseId: `l${++n}`, accountId: `acct-${token}`, token, tier: 'basic', mode: 'fast' });

/** first_byte_sec 120 (beyond the test timeout), idle_sec 0.3. */
function upstream(kind: (typeof TRANSPORTS)[number]) {
  const client = new GrokClient(testConfig({ grok: { base_url: fake.url }, timeout: { first_byte_sec: 120, idle_sec: 0.3 } }), transport);
  return kind === 'ws' ? createWsChatUpstream(client) : createRestChatUpstream(client);
}

describe.each(TRANSPORTS)('a stall after content over %s', (kind) => {
  it('is cut by idle_sec after the first answer token: the iterable fails with the idle timeout, the account is not blamed', async () => {
    const token = `stall-${kind}-${++n}`;
    fake.setAccount(token, { state: 'stall', dropAfterFrames: 3 });
    const events: UpstreamEvent[] = [];
    const it = await upstream(kind).openChat(intent('stall after a token', false), { lease: lease(token), signal: new AbortController().signal });
    const err = await (async () => {
      for await (const e of it) events.push(e);
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(events.some((e) => e.type === 'text')).toBe(true);
    expect(err).toBeInstanceOf(UpstreamError);
    const e = err as UpstreamError;
    expect([e.status, e.code, e.disposition, e.effect]).toEqual([504, 'upstream_timeout', 'retry-other', 'none']);
    expect(e.message).toContain('timeout.idle_sec');
    expect(e.message).not.toContain('first_byte_sec');
  });

  it('is cut by idle_sec while hidden reasoning primes the turn, and openChat rejects naming idle_sec', async () => {
    const token = `stall-think-${kind}-${++n}`;
    // Reasoning the client does not see (thinking off) arrives, then silence before any answer text.
    fake.script(`stall while thinking ${kind}`, { kind: 'reasoning', thinking: ['Thinking it over', 'still thinking', 'more'], answer: 'Forty-two.' });
    fake.setAccount(token, { state: 'stall', dropAfterFrames: 3 });
    const err = await upstream(kind)
      .openChat(intent(`stall while thinking ${kind}`, false), { lease: lease(token), signal: new AbortController().signal })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(UpstreamError);
    const e = err as UpstreamError;
    expect([e.code, e.disposition, e.effect]).toEqual(['upstream_timeout', 'retry-other', 'none']);
    expect(e.message).toContain('timeout.idle_sec');
  });
});

describe('Watchdog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a shorter limit armed while a longer timer is pending fires at the shorter one', () => {
    vi.useFakeTimers();
    const expired = vi.fn();
    const w = new Watchdog(3000, expired);
    w.arm(); // the first-byte clock
    vi.advanceTimersByTime(100);
    w.disarm(); // the first frame arrived
    w.arm(500); // silence between frames
    vi.advanceTimersByTime(499);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2);
    expect(expired).toHaveBeenCalledTimes(1);
    w.stop();
  });

  it('counts only while armed, re-arming with the same limit moves the deadline', () => {
    vi.useFakeTimers();
    const expired = vi.fn();
    const w = new Watchdog(500, expired);
    w.arm();
    vi.advanceTimersByTime(400);
    w.arm(500);
    vi.advanceTimersByTime(400);
    expect(expired).not.toHaveBeenCalled();
    w.disarm();
    vi.advanceTimersByTime(5000);
    expect(expired).not.toHaveBeenCalled();
    w.arm(500);
    vi.advanceTimersByTime(501);
    expect(expired).toHaveBeenCalledTimes(1);
    w.stop();
  });
});
