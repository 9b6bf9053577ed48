import { describe, expect, it } from 'vitest';
import { checkName } from './index.js';

describe('checkName', () => {
  it('accepts Latin, accented Latin, CJK and the middle dot, trimmed and NFC-normalised', () => {
    expect(checkName('  Alice Smith ')).toEqual({ ok: true, name: 'Alice Smith' });
    expect(checkName('张伟')).toEqual({ ok: true, name: '张伟' });
    expect(checkName('阿卜杜勒·克里木')).toEqual({ ok: true, name: '阿卜杜勒·克里木' });
    expect(checkName("Zoë O'Brien-Müller")).toEqual({ ok: true, name: "Zoë O'Brien-Müller" });
    expect(checkName('Nguyễn Thị Ánh')).toEqual({ ok: true, name: 'Nguyễn Thị Ánh' });
    expect(checkName('Ōta Kōji, François Ñúñez')).toMatchObject({ ok: true });
    // Decomposed e + combining acute becomes the single precomposed character.
    const r = checkName('Jose\u0301');
    expect(r).toEqual({ ok: true, name: 'Jos\u00e9' });
    expect(checkName('\u3000李 明\u3000')).toEqual({ ok: true, name: '李 明' });
  });

  it('refuses empty and whitespace-only names', () => {
    expect(checkName('')).toMatchObject({ ok: false, reason: 'empty' });
    expect(checkName(' \t\n\u3000 ')).toMatchObject({ ok: false, reason: 'empty' });
  });

  it('refuses names over 100 characters, counting characters not UTF-16 units', () => {
    expect(checkName('a'.repeat(500))).toMatchObject({ ok: false, reason: 'too_long' });
    expect(checkName('a'.repeat(101))).toMatchObject({ ok: false, reason: 'too_long' });
    expect(checkName('张'.repeat(100))).toMatchObject({ ok: true });
    // 100 characters outside the BMP are 200 UTF-16 units: still 100 characters.
    expect(checkName('\u{20000}'.repeat(100))).not.toMatchObject({ reason: 'too_long' });
    expect(checkName('\u{20000}'.repeat(101))).toMatchObject({ reason: 'too_long' });
  });

  it('refuses control and invisible characters', () => {
    for (const s of ['Ali\u0000ce', 'Ali\nce', 'Ali\tce', 'A\u007fB', 'A\u0085B', 'abc\u202Egpj', 'A\u200BB', 'A\u2028B', 'A\u00adB']) {
      expect(checkName(s), JSON.stringify(s)).toMatchObject({ ok: false, reason: 'control_chars' });
    }
  });

  it('refuses emoji and characters the font lacks, listing them', () => {
    expect(checkName('Alice 😀')).toEqual({
      ok: false,
      reason: 'unsupported_chars',
      message: expect.stringContaining('😀'),
      chars: ['😀'],
    });
    // Emoji sequences are reported whole (skin tone, ZWJ family, flag, VS16 heart).
    expect(checkName('A👍🏽B👨‍👩‍👧🇨🇳❤️')).toMatchObject({ chars: ['👍🏽', '👨‍👩‍👧', '🇨🇳', '❤️'] });
    // Scripts the bundled font does not cover (Devanagari, Thai, Arabic) and private use.
    const r = checkName('Priya प्रिया สมชาย محمد \uE000');
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.reason).toBe('unsupported_chars');
    expect(r.ok === false && r.chars?.length).toBeGreaterThanOrEqual(4);
    expect(r.ok === false && r.chars).toContain('\uE000');
    // Coverage is read from the font's cmap: the bundled GB2312-oriented font has ü and ō but
    // not Ł or Č, so those are refused rather than drawn as boxes.
    expect(checkName('Łukasz Čapek')).toMatchObject({ reason: 'unsupported_chars', chars: ['Ł', 'Č'] });
    // The same character twice is listed once.
    expect(checkName('😀 x 😀')).toMatchObject({ chars: ['😀'] });
  });

  it('handles combining marks and variation selectors by what the font can draw', () => {
    // The bundled font has no combining marks: a letter + mark with no precomposed form would
    // print without its mark, so it is refused as one unit; one that composes under NFC is fine.
    expect(checkName('n\u0308a')).toMatchObject({ ok: false, reason: 'unsupported_chars', chars: ['n\u0308'] });
    expect(checkName('u\u0308')).toEqual({ ok: true, name: '\u00fc' });
    // A text variation selector after a drawable character is ignored by the shaper: fine.
    expect(checkName('葛\uFE0E')).toMatchObject({ ok: true });
    expect(checkName('葛\u{E0100}')).toMatchObject({ ok: true });
    // A variation selector with no character before it is not drawable.
    expect(checkName('\uFE0E')).toMatchObject({ ok: false });
  });
});
