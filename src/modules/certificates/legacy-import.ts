/**
 * The original project's TinyDB data.json ({"_default": {"1": {name, email, token, number,
 * status}}}), read into rows to import and a report. What the original left in it, and what we do:
 *
 * - Tokens of any length are links volunteers hold (its own sample has `token0`): kept, stored
 *   hashed, found whatever their length.
 * - `token == email` is what the original stored until a notice went out (`gen_token(email)`),
 *   and mailed as the link in early versions: anyone knowing the address could claim with another
 *   name. Dropped; such a volunteer below status 2 goes back to 0, so the first notice brings a
 *   fresh link.
 * - A token on several rows cannot say whose link it is: dropped from all of them (same reset).
 *   One already stored for another volunteer is dropped from the new row (the service checks).
 * - Statuses 2 and 3 are certificates the original's cron would have retried: the service
 *   delivers them. An unknown status is imported as 0.
 * Every row is imported or reported, and every imported row whose old link will not work is
 * reported too, each with its reason.
 */
import { badInput } from './errors.js';
import { parseEmail, type DuplicateLine, type LineIssue } from './import-lines.js';

/** A volunteer imported without the link the original gave them (or with a changed status). */
export interface ImportNote {
  line: string;
  lineNo: number;
  email: string;
  reason: string;
}

export interface LegacyRow {
  lineNo: number;
  line: string;
  email: string;
  name: string | null;
  number: string | null;
  status: number;
  /** The original's link token, when it is kept. */
  token: string | null;
}

/** Longest token a link lookup accepts (see claims.ts). */
export const MAX_LEGACY_TOKEN = 200;
export const NEW_LINK = 'a new link goes out with the first notice';

/** Drops a row's token; below status 2 the volunteer goes back to 0 so that `send` mails a new link. */
export function dropToken(row: LegacyRow, notes: ImportNote[], why: string, hadLink = true): void {
  row.token = null;
  const reset = row.status < 2;
  if (reset) row.status = 0;
  const next = reset ? NEW_LINK : `status ${row.status} kept`;
  notes.push({
    line: row.line,
    lineNo: row.lineNo,
    email: row.email,
    reason: hadLink ? `${why}: the old link no longer works; ${next}` : `${why}: ${next}`,
  });
}

/** Reads the table; throws a clear error when the file is not a TinyDB data.json. */
export function planLegacyImport(json: unknown): {
  rows: LegacyRow[];
  duplicates: DuplicateLine[];
  rejected: LineIssue[];
  notes: ImportNote[];
} {
  const table = (json as { _default?: unknown } | null)?._default;
  if (!table || typeof table !== 'object' || Array.isArray(table))
    throw badInput('not a TinyDB data.json: expected {"_default": {"1": {"email": ..., "token": ..., "status": ...}, ...}}');
  const rows: LegacyRow[] = [];
  const rejected: LineIssue[] = [];
  const duplicates: DuplicateLine[] = [];
  const notes: ImportNote[] = [];
  const firstOf = new Map<string, string>();
  for (const [key, v] of Object.entries(table as Record<string, unknown>)) {
    const rec = (v && typeof v === 'object' ? v : {}) as {
      email?: unknown;
      name?: unknown;
      token?: unknown;
      number?: unknown;
      status?: unknown;
    };
    const lineNo = Number(key) || 0;
    const line = `#${key}`;
    const email = typeof rec.email === 'string' ? parseEmail(rec.email) : undefined;
    if (!email) {
      rejected.push({ line, lineNo, reason: 'not a valid email address' });
      continue;
    }
    const first = firstOf.get(email);
    if (first) {
      duplicates.push({ line, lineNo, email, reason: `${email} is already in this file (${first})` });
      continue;
    }
    firstOf.set(email, line);
    const statusIn = Number(rec.status ?? 0);
    const row: LegacyRow = {
      lineNo,
      line,
      email,
      name: typeof rec.name === 'string' && rec.name.trim() ? rec.name.trim().slice(0, 100) : null,
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the original stored numbers as strings or numbers; anything else is kept as its text
      number: rec.number !== undefined && rec.number !== null && String(rec.number).trim() ? String(rec.number).trim().slice(0, 100) : null,
      status: Number.isInteger(statusIn) && statusIn >= 0 && statusIn <= 4 ? statusIn : 0,
      token: typeof rec.token === 'string' && rec.token !== '' ? rec.token : null,
    };
    rows.push(row);
    if (row.status !== statusIn)
      notes.push({ line, lineNo, email, reason: `status ${JSON.stringify(rec.status)} is not one of 0-4: imported as 0; ${NEW_LINK}` });
    if ((row.status === 2 || row.status === 3) && !row.name) {
      row.status = row.token ? 1 : 0;
      notes.push({
        line,
        lineNo,
        email,
        reason: `status ${statusIn} without a name: the volunteer is asked for the name again${row.token ? ' with the old link' : `; ${NEW_LINK}`}`,
      });
    }
    if (row.token === null) {
      if (row.status === 1) dropToken(row, notes, 'no token', false);
    } else if (row.token.trim().toLowerCase() === email) {
      dropToken(row, notes, 'the token is the email address (anyone who knows the address could claim the certificate)');
    } else if (row.token.length > MAX_LEGACY_TOKEN) {
      dropToken(row, notes, `the token is longer than ${MAX_LEGACY_TOKEN} characters`);
    }
  }
  // A token shared by several rows: nobody can tell whose link it is.
  const byToken = new Map<string, LegacyRow[]>();
  for (const r of rows) if (r.token !== null) byToken.set(r.token, [...(byToken.get(r.token) ?? []), r]);
  for (const same of byToken.values()) {
    if (same.length < 2) continue;
    for (const r of same)
      dropToken(
        r,
        notes,
        `the token is also used by ${same
          .filter((o) => o !== r)
          .map((o) => o.line)
          .join(', ')}`,
      );
  }
  notes.sort((a, b) => a.lineNo - b.lineNo);
  return { rows, duplicates, rejected, notes };
}
