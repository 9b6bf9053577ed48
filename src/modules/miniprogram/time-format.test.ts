/**
 * The profile's time format ('YYYY-MM-DD HH:MM:SS' in TIME_ZONE) is written by hand from a cached
 * offset for speed; it must say exactly what Intl says, around daylight-saving changes too.
 */
import { describe, expect, it, vi } from 'vitest';
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

  it('accepts a zone alias Intl knows (not in its canonical list)', () => {
    expect(createTimeFormatter('US/Eastern')(Date.UTC(2026, 0, 1, 12, 0, 0))).toBe('2026-01-01 07:00:00');
  });

  // Issue 15: the first Intl.DateTimeFormat of a process maps ~5 MB of ICU's locale data (the
  // node binary's pages, resident from then on); a service that never answers a profile should
  // not pay it, so the formatter is made on the first time formatted, the zone checked at once.
  it('makes no Intl.DateTimeFormat until the first time is formatted', () => {
    const made = vi.fn();
    const real = Intl.DateTimeFormat;
    Intl.DateTimeFormat = new Proxy(real, {
      construct(target, args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
        made();
        return new target(...args);
      },
    });
    try {
      const fmt = createTimeFormatter('Asia/Shanghai');
      expect(made).not.toHaveBeenCalled();
      expect(fmt(Date.UTC(2020, 2, 26, 3, 34, 29))).toBe('2020-03-26 11:34:29');
      expect(made).toHaveBeenCalledTimes(1);
    } finally {
      Intl.DateTimeFormat = real;
    }
  });
  // Issue 15: real profiles' times spread over years (sign-ups since the mini-program opened), not
  // over the few weeks a per-quarter-hour cache held (4,096 quarter hours, ~42 days): each answer
  // then asked Intl again (~14 us per `get`). Once a day has been seen, its times need no Intl call.
  it('asks Intl nothing more for times spread over years once each day has been seen', () => {
    const calls = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    try {
      for (const zone of ['Asia/Shanghai', 'America/New_York']) {
        const mine = createTimeFormatter(zone);
        const ref = intlFormat(zone);
        const from = Date.UTC(2023, 0, 1);
        const times = Array.from({ length: 20_000 }, () => from + Math.floor(Math.random() * 3 * 365 * 86400_000));
        for (const ms of times) mine(ms);
        calls.mockClear();
        for (const ms of times) expect(mine(ms)).toBe(ref(ms));
        expect(calls, zone).not.toHaveBeenCalled();
      }
    } finally {
      calls.mockRestore();
    }
  });
});
