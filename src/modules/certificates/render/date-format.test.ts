import { describe, expect, it } from 'vitest';
import { DEFAULT_DATE_FORMAT, formatDate } from './index.js';

describe('formatDate', () => {
  const at = Date.UTC(2026, 0, 1, 20, 0); // 2026-01-01 20:00 UTC = 2026-01-02 04:00 in Shanghai

  it('prints the calendar day of the given time zone', () => {
    expect(formatDate(at, 'Asia/Shanghai')).toBe('2026年01月02日');
    expect(formatDate(at, 'UTC')).toBe('2026年01月01日');
    expect(formatDate(at, 'America/Los_Angeles', 'YYYY-MM-DD')).toBe('2026-01-01');
    expect(DEFAULT_DATE_FORMAT).toBe('YYYY年MM月DD日');
  });

  it('knows the tokens YYYY MM DD M D and keeps [bracketed] text literal', () => {
    const may5 = Date.UTC(2026, 4, 5, 12);
    expect(formatDate(may5, 'UTC', 'YYYY年M月D日')).toBe('2026年5月5日');
    expect(formatDate(may5, 'UTC', 'DD/MM/YYYY')).toBe('05/05/2026');
    expect(formatDate(may5, 'UTC', '[Day] D, [Month] M')).toBe('Day 5, Month 5');
    expect(formatDate(may5, 'UTC', 'no tokens here')).toBe('no tokens here');
  });

  it('throws for an unknown time zone (a configuration error, not a silent UTC)', () => {
    expect(() => formatDate(at, 'Mars/Olympus')).toThrow(RangeError);
  });
});
