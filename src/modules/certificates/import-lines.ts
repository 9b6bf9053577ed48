/**
 * Parsing of import lines `email[,number[,name]]` (the seed's addUserData, the v2 API, the CLI):
 * each line is added, a duplicate (in the batch or already stored), or rejected with a reason.
 * A header line (or `columns` given by the caller) maps columns by name and adds custom fields
 * (see import-columns.ts).
 */
import { cellsToRecord, isHeader, planFromHeader, POSITIONAL, type ColumnPlan, type CustomField } from './import-columns.js';
import { normalizeEmail } from '../../platform/text/email.js';

export interface ParsedLine {
  lineNo: number;
  line: string;
  email: string;
  number: string | null;
  name: string | null;
  fields: Record<string, string> | null;
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

/** The email as stored and looked up (the platform's normalizeEmail); undefined if not an address. */
export function parseEmail(raw: string): string | undefined {
  const e = normalizeEmail(raw);
  if (e.length < 3 || e.length > 254 || !EMAIL_RE.test(e)) return undefined;
  return e;
}

/**
 * Splits lines into valid ones (first occurrence of each email) and issues. A line's number and
 * name are optional; an empty line is ignored.
 */
export function parseLines(
  lines: readonly string[],
  columns?: readonly string[],
): { valid: ParsedLine[]; duplicates: DuplicateLine[]; rejected: LineIssue[]; customFields: CustomField[] } {
  const valid: ParsedLine[] = [];
  const duplicates: DuplicateLine[] = [];
  const rejected: LineIssue[] = [];
  /** Each email's first line number, for the duplicates' reason. */
  const seen = new Map<string, number>();
  let plan: ColumnPlan = POSITIONAL;
  let first = true;
  if (columns) {
    const p = planFromHeader(columns);
    if (typeof p === 'string') throw new ColumnsRejected(p);
    plan = p;
    first = false;
  }
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
    const cells = line.replace(/\r$/, '').split(',');
    if (first) {
      first = false;
      // The first line may name the columns: it maps them (and is not a volunteer).
      if (isHeader(cells)) {
        const p = planFromHeader(cells);
        if (typeof p === 'string') throw new ColumnsRejected(p);
        plan = p;
        continue;
      }
    }
    const rec = cellsToRecord(cells, plan);
    if (typeof rec === 'string') {
      rejected.push({ line: shown, lineNo, reason: rec });
      continue;
    }
    const email = parseEmail(rec.email);
    if (!email) {
      rejected.push({ line: shown, lineNo, reason: rec.email === '' ? 'email missing' : 'not a valid email address' });
      continue;
    }
    const number = rec.number;
    if (number && number.length > 100) {
      rejected.push({ line: shown, lineNo, reason: 'certificate number longer than 100 characters' });
      continue;
    }
    const name = rec.name ? rec.name.normalize('NFC') : null;
    if (name && [...name].length > 100) {
      rejected.push({ line: shown, lineNo, reason: 'name longer than 100 characters' });
      continue;
    }
    const firstLine = seen.get(email);
    if (firstLine !== undefined) {
      duplicates.push({ line: shown, lineNo, email, reason: `${email} is already in this import (line ${firstLine})` });
      continue;
    }
    seen.set(email, lineNo);
    valid.push({ lineNo, line: shown, email, number, name, fields: rec.fields });
  }
  return { valid, duplicates, rejected, customFields: plan.custom.map((c) => c.field) };
}

/** A header (or `columns`) that cannot be used: the whole import is refused, nothing stored. */
export class ColumnsRejected extends Error {}

/**
 * Splits CSV text into lines. A header line stays (parseLines reads the columns from it), so
 * reported line numbers are the file's.
 */
export function csvToLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/);
}
