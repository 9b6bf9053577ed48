/** Default date format on certificates (issue 2). */
export const DEFAULT_DATE_FORMAT = 'YYYY年MM月DD日';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // Throws RangeError for an unknown zone: a configuration error worth surfacing.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      calendar: 'gregory',
      numberingSystem: 'latn',
    });
    if (formatters.size > 64) formatters.clear();
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * Formats an instant as a calendar date in `timeZone`. Tokens: YYYY (2026), MM (01-12),
 * DD (01-31), M (1-12), D (1-31); text in [brackets] is printed as is (so a literal "D" can be
 * written "[D]"); everything else is copied.
 */
export function formatDate(at: number, timeZone: string, format: string = DEFAULT_DATE_FORMAT): string {
  const parts = formatterFor(timeZone).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const y = get('year');
  const m = get('month');
  const d = get('day');
  return format.replace(/\[([^\]]*)\]|YYYY|MM|DD|M|D/g, (tok, literal: string | undefined) => {
    if (literal !== undefined) return literal;
    switch (tok) {
      case 'YYYY':
        return String(y).padStart(4, '0');
      case 'MM':
        return String(m).padStart(2, '0');
      case 'DD':
        return String(d).padStart(2, '0');
      case 'M':
        return String(m);
      default:
        return String(d);
    }
  });
}
