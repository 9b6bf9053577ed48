/**
 * Parsing of import lines `email[,number[,name]]` (the seed's addUserData, the v2 API, the CLI):
 * each line is added, a duplicate (in the batch or already stored), or rejected with a reason.
 */

export interface ParsedLine {
  lineNo: number;
  line: string;
  email: string;
  number: string | null;
  name: string | null;
}

export interface LineIssue {
  line: string;
  lineNo: number;
  reason: string;
}

export interface DuplicateLine {
  line: string;
  lineNo: number;
  email: string;
  /** Where the email is already: earlier in this import, or in the campaign. */
  reason?: string;
}

// Deliberately plain: one @, no spaces or control characters, a dot in the domain.
const EMAIL_RE = /^[^\s@",;<>()\[\]\\]+@[^\s@",;<>()\[\]\\]+\.[^\s@",;<>()\[\]\\]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Most lines in one import call. */
export const MAX_IMPORT_LINES = 100_000;

/** Normalises an email for storage and lookup (trimmed, lower-cased); undefined if not an address. */
export function normaliseEmail(raw: string): string | undefined {
  const e = raw.trim().toLowerCase();
  if (e.length < 3 || e.length > 254 || !EMAIL_RE.test(e)) return undefined;
  return e;
}

/**
 * Splits lines into valid ones (first occurrence of each email) and issues. A line's number and
 * name are optional; an empty line is ignored.
 */
export function parseLines(lines: readonly string[]): { valid: ParsedLine[]; duplicates: DuplicateLine[]; rejected: LineIssue[] } {
  const valid: ParsedLine[] = [];
  const duplicates: DuplicateLine[] = [];
  const rejected: LineIssue[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    if (typeof line !== 'string') {
      rejected.push({ line: String(line), lineNo, reason: 'not a text line' });
      continue;
    }
    if (line.trim() === '') continue;
    const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
    if (line.length > 1000) {
      rejected.push({ line: shown, lineNo, reason: 'line longer than 1000 characters' });
      continue;
    }
    if (CONTROL_RE.test(line.replace(/\r$/, ''))) {
      rejected.push({ line: shown, lineNo, reason: 'control characters are not allowed' });
      continue;
    }
    const parts = line.replace(/\r$/, '').split(',').map((p) => p.trim());
    if (parts.length > 3) {
      rejected.push({ line: shown, lineNo, reason: 'too many fields: expected email[,number[,name]]' });
      continue;
    }
    const email = normaliseEmail(parts[0]);
    if (!email) {
      rejected.push({ line: shown, lineNo, reason: parts[0] === '' ? 'email missing' : 'not a valid email address' });
      continue;
    }
    const number = parts[1] ? parts[1] : null;
    if (number && number.length > 100) {
      rejected.push({ line: shown, lineNo, reason: 'certificate number longer than 100 characters' });
      continue;
    }
    const name = parts[2] ? parts[2].normalize('NFC') : null;
    if (name && [...name].length > 100) {
      rejected.push({ line: shown, lineNo, reason: 'name longer than 100 characters' });
      continue;
    }
    const first = seen.get(email);
    if (first !== undefined) {
      duplicates.push({ line: shown, lineNo, email, reason: `${email} is already in this import (line ${first})` });
      continue;
    }
    seen.set(email, lineNo);
    valid.push({ lineNo, line: shown, email, number, name });
  }
  return { valid, duplicates, rejected };
}

/**
 * Parses CSV text into lines. A header line starting with "email" becomes an empty line (which
 * the import ignores) rather than being removed, so reported line numbers are the file's.
 */
export function csvToLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.length && /^\s*e-?mail\s*(,|$)/i.test(lines[0])) lines[0] = '';
  return lines;
}
