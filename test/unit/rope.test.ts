import { describe, expect, it } from 'vitest';
import { GrowingText } from '../../src/lib/rope.js';

describe('GrowingText', () => {
  it('holds exactly what was added, across its flattening points', () => {
    const t = new GrowingText();
    let expected = '';
    for (let i = 0; i < 1000; i++) {
      const piece = i % 7 === 0 ? 'é🌍' : ` tok${i}`;
      t.add(piece);
      expected += piece;
      if (i % 97 === 0) expect(t.text).toBe(expected);
    }
    expect(t.text).toBe(expected);
    expect(new GrowingText().text).toBe('');
  });
});
