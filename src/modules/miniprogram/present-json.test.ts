/**
 * `get`'s answer is written by hand for speed (present.ts); it must be byte for byte what
 * JSON.stringify writes for the same envelope, whatever the profile's text holds.
 */
import { describe, expect, it } from 'vitest';
import { profileAnswerJson, type ProfileView } from './present.js';

describe('profileAnswerJson', () => {
  const view: ProfileView = {
    id: 7920,
    openid: 'oBench0000000000000000007919',
    phone: '+86 138 0000 7919',
    qq: '张三 "the" \\ \u0001\n\u2028😀\ud800',
    cardno: '2019-0111',
    wxid: '',
    created_at: '2026-12-04 21:48:00',
    modified_at: '-0001-01-01 00:00:00',
  };

  it('writes every UTF-16 code unit in every text field as JSON.stringify does', () => {
    const fields = ['openid', 'phone', 'qq', 'cardno', 'wxid', 'created_at', 'modified_at'] as const;
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      const v = { ...view, qq: '7919' };
      const field = fields[c % fields.length]!;
      v[field] = c % 2 ? `ab${ch}` : `${ch}${ch}cd`;
      const want = JSON.stringify({ code: 0, msg: 'success', data: v });
      if (profileAnswerJson(v) !== want) expect.fail(`code unit ${c.toString(16)} in ${field}`);
    }
  });

  it('keeps surrogate pairs, escapes lone surrogates, and leaves U+2028/U+2029 as they are', () => {
    for (const s of [
      '',
      '😀',
      'a😀b',
      '\ud83d',
      'x\ude00',
      '\ude00\ud83d',
      '\u2028\u2029',
      '"\\/',
      '\u007f\u0080\u00ff',
      '张三',
      'x'.repeat(5000),
    ]) {
      const v = { ...view, qq: '7919', wxid: s };
      expect(profileAnswerJson(v)).toBe(JSON.stringify({ code: 0, msg: 'success', data: v }));
    }
  });

  it("is JSON.stringify of the seed's envelope", () => {
    expect(profileAnswerJson(view)).toBe(JSON.stringify({ code: 0, msg: 'success', data: view }));
    const plain = { ...view, qq: '7919', id: 1 };
    expect(profileAnswerJson(plain)).toBe(JSON.stringify({ code: 0, msg: 'success', data: plain }));
  });
});
