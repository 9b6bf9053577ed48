/** safeEqual: true exactly when the two strings are equal, code unit for code unit. */
import { describe, expect, it } from 'vitest';
import { safeEqual } from './tokens.js';

describe('safeEqual', () => {
  it('is string equality', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['a', 'a'],
      ['oBench0000000000000000007919', 'oBench0000000000000000007919'],
      ['oBench0000000000000000007919', 'xBench0000000000000000007919'],
      ['oBench0000000000000000007919', 'oBench0000000000000000007910'],
      ['abc', 'abcd'],
      ['abcd', 'abc'],
      ['', 'a'],
      ['张三', '张三'],
      ['张三', '张四'],
      ['😀', '😀'],
      ['😀', '😁'],
      ['é', 'e\u0301'],
    ];
    for (const [a, b] of cases) expect(safeEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(a === b);
  });

  it('tells lone surrogates apart (UTF-8 would turn both into U+FFFD)', () => {
    expect(safeEqual('x\ud800', 'x\ud801')).toBe(false);
    expect(safeEqual('\udc00', '\ufffd')).toBe(false);
    expect(safeEqual('x\ud800', 'x\ud800')).toBe(true);
  });
});
