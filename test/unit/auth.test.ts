import { describe, expect, it } from 'vitest';
import { readCookie, safeEqual, signSession, verifySession } from '../../src/http/auth.js';

describe('admin sessions', () => {
  it('verifies a fresh session and rejects expired, tampered or foreign ones', () => {
    const now = 1_000_000;
    const s = signSession('key-1', 60_000, now);
    expect(verifySession('key-1', s, now + 1000)).toBe(true);
    expect(verifySession('key-1', s, now + 61_000)).toBe(false);
    expect(verifySession('key-2', s, now)).toBe(false);
    const [exp, mac] = s.split('.');
    expect(verifySession('key-1', `${Number(exp) + 1}.${mac}`, now)).toBe(false);
    expect(verifySession('key-1', undefined, now)).toBe(false);
    expect(verifySession('key-1', 'garbage', now)).toBe(false);
  });

  it('reads cookies and compares secrets safely', () => {
    expect(readCookie('a=1; g2a_admin=xyz; b=2', 'g2a_admin')).toBe('xyz');
    expect(readCookie(undefined, 'x')).toBeUndefined();
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
