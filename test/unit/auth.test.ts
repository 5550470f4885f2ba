import { describe, expect, it } from 'vitest';
import { readCookie, throttleClient } from '../../src/http/admin-sessions.js';
import { safeEqual } from '../../src/http/auth.js';
import { parseTrustProxy } from '../../src/http/trust-proxy.js';
import { claimLoginSlot, type ThrottleState } from '../../src/store/sessions.js';

describe('admin sessions', () => {
  it('reads cookies and compares secrets safely', () => {
    expect(readCookie('a=1; g2a_admin=xyz; b=2', 'g2a_admin')).toBe('xyz');
    expect(readCookie(undefined, 'x')).toBeUndefined();
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });

  it('counts an IPv6 client by its /64 and an IPv4-mapped one by its IPv4 address', () => {
    expect(throttleClient('203.0.113.7')).toBe('203.0.113.7');
    expect(throttleClient('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(throttleClient('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(throttleClient('2001:db8:0:1:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(throttleClient('2001:db8::5')).toBe('2001:db8:0:0::/64');
  });
});

describe('login throttle rule', () => {
  it('spaces the tries of a streak 250 ms, 500 ms, 1 s … apart, capped at 8 s', () => {
    let state: ThrottleState | null = null;
    const waits: number[] = [];
    let now = 1_000_000;
    for (let i = 0; i < 8; i++) {
      const r = claimLoginSlot(state, now);
      expect(r.slot.ok).toBe(true);
      if (r.slot.ok) waits.push(r.slot.waitMs);
      state = r.state;
      // The client sends the next try when the answer to this one arrives.
      if (r.slot.ok) now += r.slot.waitMs;
    }
    expect(waits).toEqual([0, 250, 500, 1000, 2000, 4000, 8000, 8000]);
  });

  it('refuses tries that would wait more than 8 s (tries sent in parallel) without booking them', () => {
    let state: ThrottleState | null = null;
    const now = 5_000_000;
    const slots = [];
    for (let i = 0; i < 8; i++) {
      const r = claimLoginSlot(state, now);
      slots.push(r.slot);
      state = r.state;
    }
    expect(slots.slice(0, 6).map((s) => s.ok && s.waitMs)).toEqual([0, 250, 750, 1750, 3750, 7750]);
    // The 7th would wait 15.75 s: refused until 7.75 s from now, when its wait would be 8 s.
    expect(slots[6]).toEqual({ ok: false, retryAfterMs: 7750 });
    expect(slots[7]).toEqual({ ok: false, retryAfterMs: 7750 });
  });

  it('forgets a streak 15 minutes after its last try', () => {
    const first = claimLoginSlot(null, 0);
    const later = claimLoginSlot(first.state, 15 * 60_000 + 251);
    expect(later.slot).toEqual({ ok: true, waitMs: 0 });
    expect(later.state?.tries).toBe(1);
  });
});

describe('server.trust_proxy', () => {
  it('accepts false, a hop count or addresses/CIDRs, and refuses true and garbage', () => {
    expect(parseTrustProxy(false)).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('0')).toBe(false);
    expect(parseTrustProxy(2)).toBe(2);
    expect(parseTrustProxy('1')).toBe(1);
    expect(parseTrustProxy(['10.0.0.0/8', '127.0.0.1', 'loopback', '::1', 'fd00::/8'])).toEqual(['10.0.0.0/8', '127.0.0.1', 'loopback', '::1', 'fd00::/8']);
    expect(parseTrustProxy('10.0.0.0/8, 192.168.1.1')).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(parseTrustProxy(true)).toMatch(/any client/);
    expect(parseTrustProxy('10.0.0.0/33')).toMatch(/not an IP address/);
    expect(parseTrustProxy(['nginx'])).toMatch(/not an IP address/);
    expect(parseTrustProxy(1.5)).toMatch(/integer/);
  });
});
