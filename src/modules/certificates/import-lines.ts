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
const EMAIL_RE = /^[^\s@",;<>()[\]\\]+@[^\s@",;<>()[\]\\]+\.[^\s@",;<>()[\]\\]+$/;
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

export interface ParseResult {
  valid: ParsedLine[];
  duplicates: DuplicateLine[];
  rejected: LineIssue[];
  customFields: CustomField[];
}

/** One row of an import: its line number in the file, the text shown in reports, its cells. */
export interface ImportRow {
  lineNo: number;
  line: string;
  cells: string[];
  /** The cells are pieces of `line` (split from it): a character not in the line is in no cell. */
  split?: boolean;
}

/**
 * Checks rows one by one (first occurrence of each email is valid). `plan` null: the first
 * non-empty row may be a header naming the columns, else they are positional. Used by
 * `parseLines` and, in slices that yield to the event loop, by the async variants.
 */
export function createRowChecker(plan: ColumnPlan | null) {
  const out: ParseResult = { valid: [], duplicates: [], rejected: [], customFields: [] };
  /** Each email's first line number, for the duplicates' reason. */
  const seen = new Map<string, number>();
  let cur: ColumnPlan = plan ?? POSITIONAL;
  let first = plan === null;
  return {
    out,
    push(row: ImportRow): void {
      const { lineNo, cells, line } = row;
      if (cells.every((c) => c.trim() === '')) return;
      const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
      if (line.length > 1000) {
        out.rejected.push({ line: shown, lineNo, reason: 'line longer than 1000 characters' });
        return;
      }
      // Split lines: one test of the line rules out every cell (a third of the cost).
      if ((!row.split || CONTROL_RE.test(line)) && cells.some((c) => CONTROL_RE.test(c))) {
        out.rejected.push({ line: shown, lineNo, reason: 'control characters are not allowed' });
        return;
      }
      if (first) {
        first = false;
        // The first line may name the columns: it maps them (and is not a volunteer).
        if (isHeader(cells)) {
          const p = planFromHeader(cells);
          if (typeof p === 'string') throw new ColumnsRejected(p);
          cur = p;
          return;
        }
      }
      const rec = cellsToRecord(cells, cur);
      if (typeof rec === 'string') {
        out.rejected.push({ line: shown, lineNo, reason: rec });
        return;
      }
      const email = parseEmail(rec.email);
      if (!email) {
        out.rejected.push({ line: shown, lineNo, reason: rec.email === '' ? 'email missing' : 'not a valid email address' });
        return;
      }
      const number = rec.number;
      if (number && number.length > 100) {
        out.rejected.push({ line: shown, lineNo, reason: 'certificate number longer than 100 characters' });
        return;
      }
      const name = rec.name ? rec.name.normalize('NFC') : null;
      // Code points, counted only when the UTF-16 length could exceed them (a spread per row was
      // an array per volunteer).
      if (name && name.length > 100 && [...name].length > 100) {
        out.rejected.push({ line: shown, lineNo, reason: 'name longer than 100 characters' });
        return;
      }
      const firstLine = seen.get(email);
      if (firstLine !== undefined) {
        out.duplicates.push({ line: shown, lineNo, email, reason: `${email} is already in this import (line ${firstLine})` });
        return;
      }
      seen.set(email, lineNo);
      out.valid.push({ lineNo, line: shown, email, number, name, fields: rec.fields });
    },
    finish(): ParseResult {
      out.customFields = cur.custom.map((c) => c.field);
      return out;
    },
  };
}

function planOf(columns?: readonly string[]): ColumnPlan | null {
  if (!columns) return null;
  const p = planFromHeader(columns);
  if (typeof p === 'string') throw new ColumnsRejected(p);
  return p;
}

function lineToRow(line: unknown, i: number): ImportRow | LineIssue {
  if (typeof line !== 'string') return { line: String(line), lineNo: i + 1, reason: 'not a text line' };
  const text = line.charCodeAt(line.length - 1) === 13 /* \r */ ? line.slice(0, -1) : line;
  return { lineNo: i + 1, line: text, cells: text.length > 1000 ? [text] : splitCsvLine(text), split: true };
}

/**
 * Splits lines into valid ones (first occurrence of each email) and issues. A line's number and
 * name are optional; an empty line is ignored. Cells may be quoted (`"Li, Wei"`, `""` for a quote).
 */
export function parseLines(lines: readonly string[], columns?: readonly string[]): ParseResult {
  const checker = createRowChecker(planOf(columns));
  for (let i = 0; i < lines.length; i++) {
    const row = lineToRow(lines[i], i);
    if ('reason' in row) checker.out.rejected.push(row);
    else checker.push(row);
  }
  return checker.finish();
}

/** Lets other work run: an import checks and stores rows in slices between these. */
export const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));
/** Time one slice of import work may take before it yields (the loop is never blocked ~50 ms). */
export const SLICE_MS = 8;

/** Runs `fn` over items, yielding to the event loop whenever a slice took SLICE_MS. */
export async function forEachSliced<T>(items: readonly T[], fn: (item: T, i: number) => void): Promise<void> {
  let t = performance.now();
  for (let i = 0; i < items.length; i++) {
    fn(items[i], i);
    if ((i & 127) === 127 && performance.now() - t > SLICE_MS) {
      await yieldToLoop();
      t = performance.now();
    }
  }
}

/** `parseLines` for large inputs: yields to the event loop between slices. */
export async function parseLinesAsync(lines: readonly string[], columns?: readonly string[]): Promise<ParseResult> {
  const checker = createRowChecker(planOf(columns));
  await forEachSliced(lines, (l, i) => {
    const row = lineToRow(l, i);
    if ('reason' in row) checker.out.rejected.push(row);
    else checker.push(row);
  });
  return checker.finish();
}

/** Checks parsed rows (a CSV or XLSX file) under a plan (null: header or positional), yielding. */
export async function parseRowsAsync(rows: readonly ImportRow[], plan: ColumnPlan | null): Promise<ParseResult> {
  const checker = createRowChecker(plan);
  await forEachSliced(rows, (r) => checker.push(r));
  return checker.finish();
}

/**
 * Splits one CSV line into cells on `sep`: a cell in double quotes may hold the separator and
 * `""` for a quote (RFC 4180); a quote inside an unquoted cell is kept as written.
 */
export function splitCsvLine(line: string, sep = ','): string[] {
  if (!line.includes('"')) return line.split(sep);
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    // Spaces before an opening quote are allowed (`a@b.org, "Li, Wei"`).
    let j = i;
    while (line[j] === ' ') j++;
    if (line[j] === '"') {
      let cell = '';
      j++;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) {
          cell += line.slice(j);
          j = line.length;
          break;
        }
        cell += line.slice(j, q);
        if (line[q + 1] === '"') {
          cell += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      const next = line.indexOf(sep, j);
      // Anything between the closing quote and the separator is kept (lenient).
      cell += (next < 0 ? line.slice(j) : line.slice(j, next)).trimEnd();
      cells.push(cell);
      if (next < 0) return cells;
      i = next + sep.length;
    } else {
      const next = line.indexOf(sep, i);
      if (next < 0) {
        cells.push(line.slice(i));
        return cells;
      }
      cells.push(line.slice(i, next));
      i = next + sep.length;
    }
  }
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
