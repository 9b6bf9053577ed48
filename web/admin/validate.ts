/** Checks the console runs before sending anything (the server checks again). Each returns an i18n key + values, or null. */

export type Problem = { key: string; values?: Record<string, unknown> } | null;

// Pragmatic: one @, something before it, a dot in the domain, no spaces or angle brackets.
const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]{2,}$/;

export const isEmail = (s: string) => EMAIL.test(s.trim());

export function email(s: string, required = true): Problem {
  if (!s.trim()) return required ? { key: 'errors.required' } : null;
  return isEmail(s) ? null : { key: 'errors.email' };
}

export function integer(v: unknown, min: number, max: number, required = false): Problem {
  if (v === '' || v === null || v === undefined) return required ? { key: 'errors.required' } : null;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? null : { key: 'errors.integer', values: { min, max } };
}

export function number(v: unknown, min: number, max: number, required = false): Problem {
  if (v === '' || v === null || v === undefined) return required ? { key: 'errors.required' } : null;
  const n = Number(v);
  return Number.isFinite(n) && n >= min && n <= max ? null : { key: 'errors.number', values: { min, max } };
}

export function color(s: string): Problem {
  return /^#[0-9a-fA-F]{6}$/.test(s.trim()) ? null : { key: 'errors.color' };
}

export function slug(s: string): Problem {
  if (!s.trim()) return null;
  return /^[a-z0-9][a-z0-9-]{1,39}$/.test(s.trim()) ? null : { key: 'errors.slug' };
}

export function url(s: string): Problem {
  if (!s.trim()) return null;
  try {
    const u = new URL(s.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? null : { key: 'settings.url' };
  } catch {
    return { key: 'settings.url' };
  }
}

/** Parses one import line `email[,number[,name]]` enough to flag obvious mistakes. */
export function importLineProblem(line: string): Problem {
  const email = line.split(',')[0]!.trim();
  if (!email) return { key: 'volunteers.noEmail' };
  return isEmail(email) ? null : { key: 'volunteers.notEmail', values: { email } };
}
