/**
 * Import files (v2 preview and import, the CLI): CSV in any common encoding and separator, and
 * XLSX. The bytes are decoded (BOM, else strict UTF-8, else the encoding jschardet detects, GBK
 * from Excel in China being the common case, through iconv-lite), the separator is detected
 * (`,` `;` tab), and csv-parse reads quoted fields. Every step works in slices that yield to the
 * event loop, so a 100,000-line file never holds it for more than a slice (import-lines.ts SLICE_MS).
 * The rows then go through the same checks as every import (import-lines.ts, import-columns.ts).
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { badInput } from './errors.js';
import { fieldKey, isHeader, planFromHeader, POSITIONAL, type ColumnPlan } from './import-columns.js';
import { MAX_IMPORT_LINES, parseEmail, SLICE_MS, yieldToLoop, type ImportRow } from './import-lines.js';

// Loaded by the first file import, not at start: jschardet's models alone are ~3 MB of strings and
// more once decoded, and most instances import through the API's lines (issue 15, idle memory).
const req = createRequire(import.meta.url);
let charsets: { jschardet: typeof import('jschardet'); iconv: typeof import('iconv-lite') } | undefined;
const text = () =>
  (charsets ??= { jschardet: req('jschardet') as typeof import('jschardet'), iconv: req('iconv-lite') as typeof import('iconv-lite') });

export type Separator = ',' | ';' | '\t';
export const SEPARATORS: Separator[] = [',', ';', '\t'];

export interface ReadOptions {
  /** Overrides detection (any encoding iconv-lite knows, e.g. gb18030, big5, windows-1252). */
  encoding?: string;
  separator?: Separator;
  /** Most rows read (default MAX_IMPORT_LINES; the CLI allows more). */
  maxRows?: number;
}

export interface ReadFile {
  format: 'csv' | 'xlsx';
  /** The encoding used (null for XLSX). */
  encoding: string | null;
  /** The separator used (null for XLSX). */
  separator: Separator | null;
  rows: ImportRow[];
}

/** What a column holds, as the organizer maps it. */
export interface ColumnMapping {
  email: number;
  number?: number | null;
  name?: number | null;
  /** Other columns kept as custom fields, with their titles. */
  fields?: Array<{ index: number; label: string }>;
  /** Whether the first row is a header (skipped). */
  header: boolean;
}

const XLSX_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const DECODE_SLICE = 256 * 1024;

/** Whether bytes are an XLSX (a ZIP) rather than text. */
export function isXlsx(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.subarray(0, 4).equals(XLSX_MAGIC);
}

/** The encoding of text bytes: BOM, else strict UTF-8, else what jschardet detects (default GB18030). */
export function detectEncoding(bytes: Buffer): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return 'utf-8';
  } catch {
    // not UTF-8: guess below
  }
  const sample = bytes.subarray(0, 64 * 1024);
  const guess = text().jschardet.detect(sample);
  const enc = (guess.encoding ?? '').toLowerCase();
  // GB2312 and GBK are subsets of GB18030: decode with the superset.
  if (/^(gb2312|gbk|gb18030|x-gbk|euc-cn)$/.test(enc)) return 'gb18030';
  if (enc && enc !== 'ascii' && text().iconv.encodingExists(enc)) return enc;
  // Undetectable non-UTF-8 text: Excel's "CSV" in a Chinese Windows is GBK.
  return 'gb18030';
}

async function decode(bytes: Buffer, encoding: string): Promise<string> {
  const shown = encoding.slice(0, 40);
  if (!text().iconv.encodingExists(encoding)) throw badInput(`unknown encoding "${shown}"`, { field: 'encoding' });
  const dec = text().iconv.getDecoder(encoding);
  let out = '';
  for (let i = 0; i < bytes.length; i += DECODE_SLICE) {
    out += dec.write(bytes.subarray(i, i + DECODE_SLICE));
    if (i + DECODE_SLICE < bytes.length) await yieldToLoop();
  }
  out += dec.end() ?? '';
  return out.replace(/^\uFEFF/, '');
}

/** The separator that splits the first lines into the most consistent number of cells (>1). */
export function detectSeparator(text: string): Separator {
  const lines = text
    .slice(0, 64 * 1024)
    .split(/\r?\n/)
    .filter((l) => l.trim())
    .slice(0, 30);
  let best: Separator = ',';
  let bestScore = 0;
  for (const sep of SEPARATORS) {
    const counts = lines.map((l) => countOutsideQuotes(l, sep) + 1);
    const mode = modeOf(counts);
    if (mode < 2) continue;
    const score = counts.filter((c) => c === mode).length * 10 + mode;
    if (score > bestScore) {
      best = sep;
      bestScore = score;
    }
  }
  return best;
}

function countOutsideQuotes(line: string, sep: string): number {
  let n = 0;
  let q = false;
  for (const ch of line) {
    if (ch === '"') q = !q;
    else if (ch === sep && !q) n++;
  }
  return n;
}

function modeOf(xs: number[]): number {
  const m = new Map<number, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  let best = 0;
  let bestN = 0;
  for (const [x, n] of m) if (n > bestN || (n === bestN && x > best)) [best, bestN] = [x, n];
  return best;
}

/** Parses CSV text with csv-parse, fed in slices (records come out as the parser reads them). */
export async function parseCsv(text: string, separator: Separator, max: number): Promise<ImportRow[]> {
  const rows: ImportRow[] = [];
  const parser = (req('csv-parse') as typeof import('csv-parse')).parse({
    delimiter: separator,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    raw: true,
    info: true,
    max_record_size: 64 * 1024,
  });
  let failure: unknown;
  parser.on('readable', () => {
    let r: { record: string[]; raw: string; info: { lines: number } } | null;
    while ((r = parser.read() as typeof r) !== null) {
      if (rows.length >= max + 1) continue;
      rows.push({ lineNo: r.info.lines, line: r.raw.replace(/\r?\n$/, ''), cells: r.record });
    }
  });
  parser.on('error', (err) => (failure = err));
  const done = new Promise<void>((resolve) => parser.on('end', resolve).on('error', () => resolve()));
  // Small slices, each written only once the parser took the last one: written all at once, the
  // stream would queue them and work through the queue in one go (process.nextTick callbacks
  // run before anything else gets a turn).
  const SLICE = 16 * 1024;
  for (let i = 0; i < text.length && !failure; i += SLICE) {
    if (!parser.write(text.slice(i, i + SLICE))) await new Promise<void>((r) => parser.once('drain', () => r()));
    await yieldToLoop();
  }
  parser.end();
  await done;
  if (failure) {
    const e = failure as { message?: string; lines?: number };
    throw badInput(`the file is not readable CSV${e.lines ? ` (line ${e.lines})` : ''}: ${(e.message ?? 'parse error').slice(0, 200)}`);
  }
  return rows;
}

// Runs in a worker thread: reading an XLSX is synchronous work proportional to the file, which
// must not hold the event loop. Rows are posted back in slices (a huge message would be
// deserialised on the main thread in one go).
const XLSX_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSheet } = require('read-excel-file/node');
const cell = (v) => v === null || v === undefined ? '' : v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
readSheet(Buffer.from(workerData)).then((rows) => {
  for (let i = 0; i < rows.length; i += 2000) parentPort.postMessage({ rows: rows.slice(i, i + 2000).map((r) => r.map(cell)) });
  parentPort.postMessage({ done: true });
}, (err) => parentPort.postMessage({ error: String(err && err.message || err) }));
`;

async function readXlsx(bytes: Buffer): Promise<ImportRow[]> {
  const rows: ImportRow[] = [];
  await new Promise<void>((resolve, reject) => {
    const w = new Worker(XLSX_WORKER, { eval: true, workerData: bytes, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    w.on('message', (m: { rows?: string[][]; done?: true; error?: string }) => {
      if (m.rows) for (const cells of m.rows) rows.push({ lineNo: rows.length + 1, line: cells.join(','), cells });
      if (m.done) void w.terminate().then(() => resolve());
      if (m.error) void w.terminate().then(() => reject(badInput(`the spreadsheet could not be read: ${m.error!.slice(0, 200)}`)));
    });
    w.on('error', (err) => reject(badInput(`the spreadsheet could not be read: ${err.message.slice(0, 200)}`)));
  });
  return rows;
}

/** Reads an import file into rows (CSV: decoded, separator detected unless given; XLSX: the first sheet). */
export async function readImportFile(bytes: Buffer, opts: ReadOptions = {}): Promise<ReadFile> {
  if (bytes.length === 0) throw badInput('the file is empty');
  const max = opts.maxRows ?? MAX_IMPORT_LINES;
  if (isXlsx(bytes)) {
    const rows = await readXlsx(bytes);
    if (rows.length > max + 1) throw badInput(`too many rows: at most ${max} per import`);
    return { format: 'xlsx', encoding: null, separator: null, rows };
  }
  const encoding = opts.encoding?.toLowerCase() ?? detectEncoding(bytes);
  const text = await decode(bytes, encoding);
  const separator = opts.separator ?? detectSeparator(text);
  const rows = await parseCsv(text, separator, max);
  if (rows.length > max + 1) throw badInput(`too many lines: at most ${max} per import`);
  return { format: 'csv', encoding, separator, rows };
}

export type ColumnRole = 'email' | 'number' | 'name' | 'field' | 'ignore';

/**
 * The mapping the preview proposes: a header row maps by title (import-columns.ts); without one
 * the email column is the one whose cells are addresses, a `Name <email>` column gives the name
 * too, a column with digits is the number, a column without is the name.
 */
export function guessMapping(rows: readonly ImportRow[]): { mapping: ColumnMapping; roles: ColumnRole[]; titles: string[] } {
  const sample = rows.filter((r) => r.cells.some((c) => c.trim())).slice(0, 50);
  const width = Math.max(0, ...sample.map((r) => r.cells.length));
  const first = sample[0]?.cells ?? [];
  if (sample.length && isHeader(first)) {
    const p = planFromHeader(first);
    if (typeof p !== 'string') {
      const roles: ColumnRole[] = Array.from({ length: width }, () => 'ignore');
      roles[p.email] = 'email';
      if (p.number !== null) roles[p.number] = 'number';
      if (p.name !== null) roles[p.name] = 'name';
      for (const c of p.custom) roles[c.index] = 'field';
      return {
        mapping: {
          email: p.email,
          number: p.number,
          name: p.name,
          fields: p.custom.map((c) => ({ index: c.index, label: c.field.label })),
          header: true,
        },
        roles,
        titles: Array.from({ length: width }, (_, i) => (first[i] ?? '').trim()),
      };
    }
  }
  const body = sample.map((r) => r.cells);
  const share = (i: number, f: (v: string) => boolean) => {
    const vals = body.map((c) => (c[i] ?? '').trim()).filter(Boolean);
    return vals.length ? vals.filter(f).length / vals.length : 0;
  };
  const isAddr = (v: string) => !!parseEmail(v) || /<[^<>\s]+@[^<>\s]+>\s*$/.test(v);
  let email = 0;
  let bestShare = -1;
  for (let i = 0; i < width; i++) {
    const s = share(i, isAddr);
    if (s > bestShare) [email, bestShare] = [i, s];
  }
  let number: number | null = null;
  let name: number | null = null;
  for (let i = 0; i < width; i++) {
    if (i === email || share(i, (v) => v !== '') === 0) continue;
    if (number === null && share(i, (v) => /\d/.test(v)) >= 0.5) number = i;
    else if (name === null && share(i, (v) => !/\d/.test(v)) >= 0.5) name = i;
  }
  // The original's positional order wins when it fits: email, number, name.
  if (email === 0 && width <= 3 && (number === null || number === 1) && (name === null || name === 2 || (width === 2 && number === null))) {
    number = width > 1 && name !== 1 ? 1 : number;
    name = width > 2 ? 2 : name;
  }
  const roles: ColumnRole[] = Array.from({ length: width }, () => 'ignore');
  roles[email] = 'email';
  if (number !== null) roles[number] = 'number';
  if (name !== null) roles[name] = 'name';
  return { mapping: { email, number, name, fields: [], header: false }, roles, titles: Array.from({ length: width }, () => '') };
}

/** The column plan for a mapping (validated against the file's width). */
export function planFromMapping(m: ColumnMapping, width: number): ColumnPlan {
  const used = new Set<number>();
  const check = (i: number | null | undefined, what: string) => {
    if (i === null || i === undefined) return null;
    if (!Number.isInteger(i) || i < 0 || i >= Math.max(width, 1))
      throw badInput(`mapping: ${what} column ${i} is not in the file (it has ${width})`, { field: 'mapping' });
    if (used.has(i)) throw badInput(`mapping: column ${i} is mapped twice`, { field: 'mapping' });
    used.add(i);
    return i;
  };
  const email = check(m.email, 'email')!;
  const number = check(m.number, 'number');
  const name = check(m.name, 'name');
  const keys = new Set(['email', 'number', 'name', 'date', 'qr']);
  const custom = (m.fields ?? []).map((f) => {
    check(f.index, 'field');
    let key = fieldKey(f.label);
    for (let n = 2; keys.has(key); n++) key = `${fieldKey(f.label)}_${n}`;
    keys.add(key);
    return { index: f.index, field: { key, label: f.label.trim().slice(0, 60) || `column ${f.index + 1}` } };
  });
  // Cells beyond the mapped ones are the organizer's to ignore: no "too many fields" then.
  return { ...POSITIONAL, email, number, name, custom, width: Number.MAX_SAFE_INTEGER };
}

export { SLICE_MS };
