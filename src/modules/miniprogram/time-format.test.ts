/**
 * The profile's time format ('YYYY-MM-DD HH:MM:SS' in TIME_ZONE) is written by hand from a cached
 * offset for speed; it must say exactly what Intl says, around daylight-saving changes too.
 */
import { describe, expect, it } from 'vitest';
import { createTimeFormatter } from './present.js';

function intlFormat(timeZone: string) {
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  return (ms: number) => f.format(new Date(ms));
}

describe('miniprogram time format', () => {
  it('writes the seed example in Asia/Shanghai', () => {
    expect(createTimeFormatter('Asia/Shanghai')(Date.UTC(2020, 2, 26, 3, 34, 29, 999))).toBe('2020-03-26 11:34:29');
    expect(createTimeFormatter('UTC')(Date.UTC(2026, 0, 1, 0, 0, 0))).toBe('2026-01-01 00:00:00');
  });

  it('agrees with Intl second by second across daylight-saving changes and odd offsets', () => {
    const cases: [string, number][] = [
      ['America/New_York', Date.UTC(2026, 2, 8, 6, 30)], // spring forward at 07:00 UTC
      ['America/New_York', Date.UTC(2026, 10, 1, 5, 30)], // fall back at 06:00 UTC
      ['Europe/London', Date.UTC(2026, 2, 29, 0, 30)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 14, 30)], // a 30-minute change
      ['Asia/Kathmandu', Date.UTC(2026, 5, 1, 0, 0)], // +05:45
      ['Asia/Shanghai', Date.UTC(1991, 8, 14, 16, 30)], // China's last DST end
      ['Asia/Shanghai', Date.UTC(1900, 11, 31, 15, 30)], // local mean time ends at 15:54:17 UTC, mid quarter hour
    ];
    for (const [zone, from] of cases) {
      const mine = createTimeFormatter(zone);
      const ref = intlFormat(zone);
      for (let ms = from; ms < from + 3600_000; ms += 997) expect(mine(ms), `${zone} ${new Date(ms).toISOString()}`).toBe(ref(ms));
    }
  });

  it('agrees with Intl at random instants over two centuries', () => {
    for (const zone of ['Asia/Shanghai', 'America/Sao_Paulo', 'Pacific/Chatham', 'Africa/Casablanca']) {
      const mine = createTimeFormatter(zone);
      const ref = intlFormat(zone);
      for (let i = 0; i < 3000; i++) {
        const ms = Date.UTC(1900, 0, 1) + Math.floor(Math.random() * 200 * 365.25 * 86400_000);
        expect(mine(ms), `${zone} ${ms}`).toBe(ref(ms));
      }
    }
  });

  it('names the setting when the zone is unknown', () => {
    expect(() => createTimeFormatter('Mars/Olympus')).toThrow(/TIME_ZONE.*Mars\/Olympus/);
  });
});
