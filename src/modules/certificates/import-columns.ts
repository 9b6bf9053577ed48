/**
 * Import columns: which cell of a line is the email, the certificate number, the name, and which
 * cells are custom fields (role, hours, event date, ...). One place for every import path (the
 * seed's addUserData, the v2 JSON and CSV imports, the CLI) and for whatever splits lines into
 * cells (today a plain split on commas; a CSV parser can feed `cellsToRecord` the same way).
 *
 * Without a header the columns are positional: email[,number[,name]]. A header line (a cell that
 * names the email column, no cell that is an address) maps columns by name, in any order; every
 * other named column becomes a custom field of the campaign, placed on the template like the name
 * and written into the credential.
 */

export interface CustomField {
  /** Stable key (layout, stored values, the credential's result ids): lower-case letters, digits, _. */
  key: string;
  /** The column title as the organizer wrote it. */
  label: string;
}

export interface ColumnPlan {
  email: number;
  number: number | null;
  name: number | null;
  custom: Array<{ index: number; field: CustomField }>;
  /** Cells a line may have (positional: 3). */
  width: number;
}

export const POSITIONAL: ColumnPlan = { email: 0, number: 1, name: 2, custom: [], width: 3 };
/** Most custom columns per campaign, and longest value of one. */
export const MAX_CUSTOM_FIELDS = 20;
export const MAX_FIELD_VALUE = 200;

const EMAIL_NAMES = new Set(['email', 'e-mail', 'mail', 'email address', '邮箱', '电子邮件', '电子邮箱', '邮件']);
const NUMBER_NAMES = new Set([
  'number',
  'no',
  'no.',
  'certificate number',
  'certificate_number',
  'cert number',
  'id number',
  '编号',
  '证书编号',
  '序号',
]);
const NAME_NAMES = new Set(['name', 'full name', 'full_name', '姓名', '名字']);

/** Columns of the tool's own export that are no volunteer data: skipped, so an export imports back. */
const EXPORT_ONLY = new Set(['status', 'failure', 'certificate_id', '状态', '失败原因', '证书id']);
/** `Name <email>` or `"Name" <email>` (a line copied from a mail program). */
const NAME_ADDR = /^\s*(?:"([^"]*)"|([^<>"]*?))\s*<([^<>\s]+@[^<>\s]+)>\s*$/;

/** A cell the export neutralised for spreadsheets (`'=...`) reads back as written. */
const unquoteFormula = (v: string) => (v.charCodeAt(0) === 39 /* ' */ && /^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v);

/** A cell under a plan, trimmed ('' when the plan has no such column or the line no such cell). */
function cellAt(cells: readonly string[], i: number | null): string {
  return i === null ? '' : unquoteFormula((cells[i] ?? '').trim());
}

const norm = (s: string) =>
  s
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase();

/** The key of a column title: letters (any script) and digits kept, the rest as `_`, at most 40. */
export function fieldKey(label: string): string {
  const k = label
    .normalize('NFC')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  return k || 'field';
}

/** Whether cells are a header line: one names the email column and none is an email address. */
export function isHeader(cells: readonly string[]): boolean {
  return cells.some((c) => EMAIL_NAMES.has(norm(c))) && !cells.some((c) => /@/.test(c));
}

/** The plan a header line gives; a string is the reason it cannot be used. */
export function planFromHeader(cells: readonly string[]): ColumnPlan | string {
  let email = -1;
  let number: number | null = null;
  let name: number | null = null;
  const custom: ColumnPlan['custom'] = [];
  const keys = new Set<string>();
  cells.forEach((raw, index) => {
    const c = norm(raw);
    if (!c) return;
    if (EXPORT_ONLY.has(c)) return;
    if (EMAIL_NAMES.has(c) && email < 0) email = index;
    else if (NUMBER_NAMES.has(c) && number === null) number = index;
    else if (NAME_NAMES.has(c) && name === null) name = index;
    else {
      let key = fieldKey(raw);
      for (let n = 2; keys.has(key) || ['email', 'number', 'name', 'date', 'qr'].includes(key); n++) key = `${fieldKey(raw)}_${n}`;
      keys.add(key);
      custom.push({
        index,
        field: {
          key,
          label: raw
            .replace(/^\uFEFF/, '')
            .trim()
            .slice(0, 60),
        },
      });
    }
  });
  if (email < 0) return 'the header names no email column';
  if (custom.length > MAX_CUSTOM_FIELDS) return `at most ${MAX_CUSTOM_FIELDS} custom columns`;
  return { email, number, name, custom, width: cells.length };
}

/** What one line's cells hold under a plan. */
export function cellsToRecord(
  cells: readonly string[],
  plan: ColumnPlan,
): { email: string; number: string | null; name: string | null; fields: Record<string, string> | null } | string {
  if (cells.length > plan.width && cells.slice(plan.width).some((c) => c.trim() !== '')) {
    return plan === POSITIONAL
      ? 'too many fields: expected email[,number[,name]] (or a header line naming the columns)'
      : `more cells than the header has columns (${plan.width})`;
  }
  // Per line (1,000,000 in an import): no closure, and the name-and-address pattern only tried
  // on a cell with its `<`.
  let fields: Record<string, string> | null = null;
  for (const { index, field } of plan.custom) {
    const v = cellAt(cells, index).normalize('NFC');
    if (!v) continue;
    if (v.length > MAX_FIELD_VALUE && [...v].length > MAX_FIELD_VALUE) return `${field.label}: longer than ${MAX_FIELD_VALUE} characters`;
    (fields ??= {})[field.key] = v;
  }
  let email = cellAt(cells, plan.email);
  let name = cellAt(cells, plan.name) || null;
  const m = email.includes('<') ? NAME_ADDR.exec(email) : null;
  if (m) {
    email = m[3];
    name ??= (m[1] ?? m[2] ?? '').trim() || null;
  }
  return { email, number: cellAt(cells, plan.number) || null, name, fields };
}

/** Merges newly seen custom fields into a campaign's list (by key; first label wins). */
export function mergeFields(known: CustomField[], more: CustomField[]): CustomField[] {
  const out = [...known];
  for (const f of more) if (!out.some((k) => k.key === f.key)) out.push(f);
  return out.slice(0, MAX_CUSTOM_FIELDS);
}

/** Parses stored JSON of custom fields (campaign) leniently. */
export function parseCustomFields(json: string | null | undefined): CustomField[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v)
      ? v.filter(
          (f: unknown): f is CustomField =>
            !!f && typeof (f as CustomField).key === 'string' && typeof (f as CustomField).label === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

/** Parses stored JSON of field values (recipient, credential) leniently. */
export function parseFieldValues(json: string | null | undefined): Record<string, string> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x === 'string')) as Record<
      string,
      string
    >;
  } catch {
    return {};
  }
}
