/** How profiles look in answers: the seed's fields, times as 'YYYY-MM-DD HH:MM:SS' in the configured zone. */
import { needsJsonEscape } from '../../platform/text/json.js';
import type { ProfileRow } from './repo.js';

export interface ProfileView {
  id: number;
  openid: string;
  phone: string;
  qq: string;
  cardno: string;
  wxid: string;
  created_at: string;
  modified_at: string;
}

const QUARTER_HOUR = 15 * 60_000;
const MAX_CACHED_OFFSETS = 4096;
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const HOUR = 3_600_000;
const DAY = 86_400_000;
const MAX_CACHED_DAYS = 4096;
/** '00' to '59'. */
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => pad2(n));

/** `map`'s value for `key`, made by `make` when missing; the map starts over once it holds `max`. */
function cached<V>(map: Map<number, V>, key: number, max: number, make: (key: number) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make(key);
    if (map.size >= max) map.clear();
    map.set(key, v);
  }
  return v;
}

/**
 * A formatter of millisecond times as 'YYYY-MM-DD HH:MM:SS' in `timeZone`. Intl.DateTimeFormat
 * costs ~3.5 us a call, twice per profile answer on the hot `get` path; so Intl only finds the
 * zone's UTC offset, once per day of time (once per quarter hour in a day that holds a change:
 * offset changes fall on quarter hours), and the digits are written by hand. A quarter hour whose
 * two ends disagree holds a change: those times go through Intl each call, so every answer is
 * exactly what Intl would say.
 * Throws a RangeError naming the zone when `timeZone` is not one Intl knows.
 */
export function createTimeFormatter(timeZone: string): (ms: number) => string {
  const makeIntl = () =>
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
      era: 'short',
    });
  // Made on the first time formatted (issue 15): a process's first Intl.DateTimeFormat maps ~5 MB
  // of ICU's locale data from the node binary, resident from then on, and a service that answers
  // no profile has no use for it. The zone is checked now, against Intl's list of canonical names
  // (its time zone data only); an alias such as US/Eastern, not on that list, by a formatter.
  let intl: Intl.DateTimeFormat | undefined;
  if (!Intl.supportedValuesOf('timeZone').includes(timeZone)) {
    try {
      intl = makeIntl();
    } catch {
      throw new RangeError(`TIME_ZONE: unknown time zone ${JSON.stringify(timeZone)} (use an IANA name such as Asia/Shanghai)`);
    }
  }

  /** The zone's offset from UTC at `ms` (whole seconds; ms within the second ignored). */
  function exactOffset(ms: number): number {
    const p: Record<string, string> = {};
    for (const part of (intl ??= makeIntl()).formatToParts(ms)) p[part.type] = part.value;
    const year = p.era === 'BC' || p.era === 'B' ? 1 - Number(p.year) : Number(p.year);
    const d = new Date(0);
    d.setUTCFullYear(year, Number(p.month) - 1, Number(p.day));
    d.setUTCHours(Number(p.hour), Number(p.minute), Number(p.second), 0);
    return d.getTime() - (ms - (((ms % 1000) + 1000) % 1000));
  }

  // UTC day -> the zone's offset through the whole day; NaN marks a day that holds a change (issue
  // 15: profiles' times spread over years, and a cache of quarter hours held ~42 days of them, so
  // real answers asked Intl again, ~14 us per `get`). A day is checked at each of its hours and
  // its last second, 25 Intl calls once per day seen: an offset that changes within the day
  // differs at the next hour, unless it changed back within that hour: none was found (126,000
  // random instants in 84 zones, 1900-2040, against Intl; tzdb's shortest-lived offsets last days).
  const days = new Map<number, number>();
  function wholeDay(day: number): number {
    const start = day * DAY;
    const first = exactOffset(start);
    for (let h = 1; h <= 24; h++) if (exactOffset(start + h * HOUR - (h === 24 ? 1000 : 0)) !== first) return NaN;
    return first;
  }
  // The days that hold a change, quarter hour by quarter hour (offset changes fall on quarter
  // hours): quarter-hour index -> offset; NaN marks a quarter hour that holds the change, whose
  // times go through Intl each call.
  const quarters = new Map<number, number>();
  function wholeQuarter(q: number): number {
    const a = exactOffset(q * QUARTER_HOUR);
    return a === exactOffset((q + 1) * QUARTER_HOUR - 1000) ? a : NaN;
  }
  function quarterOffset(ms: number): number {
    const off = cached(quarters, Math.floor(ms / QUARTER_HOUR), MAX_CACHED_OFFSETS, wholeQuarter);
    return Number.isNaN(off) ? exactOffset(ms) : off;
  }
  function offsetAt(ms: number): number {
    const off = cached(days, Math.floor(ms / DAY), MAX_CACHED_DAYS, wholeDay);
    return Number.isNaN(off) ? quarterOffset(ms) : off;
  }

  /** The whole 'YYYY-MM-DD HH:MM:SS' of a local time (ms since the epoch, shifted by the offset). */
  function viaDate(local: number): string {
    const d = new Date(local);
    const y = d.getUTCFullYear();
    const year = y >= 1000 && y <= 9999 ? String(y) : (y < 0 ? '-' : '') + String(Math.abs(y)).padStart(4, '0');
    return `${year}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  }

  // Local day number -> its 'YYYY-MM-DD' (issue 15): the date part is the same for every time of a
  // day, and profiles' times fall on few distinct days; the time of day is then three table
  // lookups, with no Date object and no six getUTC* calls per time (bench/README.md, a sixth pass).
  const dates = new Map<number, string>();
  const dateOf = (day: number) => viaDate(day * DAY).slice(0, -9);
  return (ms) => {
    const local = ms + offsetAt(ms);
    // Whole milliseconds only (the database's); anything else as before, through Date.
    if (!Number.isSafeInteger(local)) return viaDate(local);
    const day = Math.floor(local / DAY);
    const date = cached(dates, day, MAX_CACHED_DAYS, dateOf);
    const s = Math.floor((local - day * DAY) / 1000);
    return `${date} ${TWO_DIGITS[Math.floor(s / 3600)]}:${TWO_DIGITS[Math.floor(s / 60) % 60]}:${TWO_DIGITS[s % 60]}`;
  };
}

export function presentProfile(p: ProfileRow, fmt: (ms: number) => string): ProfileView {
  return {
    id: Number(p.id),
    openid: p.openid,
    phone: p.phone,
    qq: p.qq,
    cardno: p.cardno,
    wxid: p.wxid,
    created_at: fmt(Number(p.created_at)),
    modified_at: fmt(Number(p.modified_at)),
  };
}

/**
 * `get`'s answer: the bytes JSON.stringify({code: 0, msg: 'success', data: view}) writes. When no
 * text field holds a character JSON escapes (the usual case), they are written between quotes as
 * they are, in one template; otherwise JSON.stringify writes the whole answer. Issue 15:
 * JSON.stringify of the envelope was ~7.5k instructions of a ~169k `get` (callgrind; V8 escapes
 * each key and value on its slow path), the template and its checks ~3-4k (bench/README.md, "Hot
 * paths, an eleventh pass"). getUserInfo's answer is hand-built too. `id` is an integer (a row
 * id), written as JSON writes it.
 */
export function profileAnswerJson(v: ProfileView): string {
  if (
    needsJsonEscape(v.openid) ||
    needsJsonEscape(v.phone) ||
    needsJsonEscape(v.qq) ||
    needsJsonEscape(v.cardno) ||
    needsJsonEscape(v.wxid) ||
    needsJsonEscape(v.created_at) ||
    needsJsonEscape(v.modified_at)
  ) {
    return JSON.stringify({ code: 0, msg: 'success', data: v });
  }
  return (
    `{"code":0,"msg":"success","data":{"id":${v.id},"openid":"${v.openid}","phone":"${v.phone}","qq":"${v.qq}",` +
    `"cardno":"${v.cardno}","wxid":"${v.wxid}","created_at":"${v.created_at}","modified_at":"${v.modified_at}"}}`
  );
}
