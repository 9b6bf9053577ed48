/**
 * Volunteers of a campaign: import (batched, one transaction), list and search, reset, export,
 * and the original's TinyDB data.json (old tokens keep working: their hashes are stored).
 */
import { hashToken } from '../../platform/crypto/tokens.js';
import type { CampaignRow } from './campaigns-repo.js';
import { newCertificateId, type CertDeps } from './deps.js';
import { badInput, notFound } from './errors.js';
import {
  ColumnsRejected,
  MAX_IMPORT_LINES,
  parseEmail,
  parseLinesAsync,
  parseRowsAsync,
  SLICE_MS,
  yieldToLoop,
  type DuplicateLine,
  type LineIssue,
  type ParseResult,
} from './import-lines.js';
import { guessMapping, planFromMapping, readImportFile, type ColumnMapping, type ReadFile, type ReadOptions } from './import-file.js';
import { mergeFields, parseCustomFields, parseFieldValues } from './import-columns.js';
import { ensureIssued } from './credentials/issue.js';
import { dropToken, planLegacyImport, type ImportNote } from './legacy-import.js';
import { dialectOf, isUniqueViolation } from '../../platform/db/index.js';

/**
 * A list cursor: `a<id>` the rows after that id, `b<id>` those before it. Opaque to clients (the
 * API documents only where it comes from); anything else is refused.
 */
function parseCursor(cursor: string): { after?: number; before?: number } {
  const m = /^([ab])([0-9]{1,15})$/.exec(cursor);
  if (!m) throw badInput('cursor: not a cursor of this list (use next or prev of a page)');
  const id = Number(m[2]);
  return m[1] === 'a' ? { after: id } : { before: id };
}

/** A credential's state as the console shows it (credentials/service.ts `state`). */
export interface CredentialState {
  id: string;
  status: 'valid' | 'revoked';
  issuedAt: number;
  revokedAt: number | null;
  revocationReason: string | null;
  replacedBy: string | null;
  name: string;
  verifyUrl: string;
}
import type { NewRecipient, RecipientRow } from './recipients-repo.js';
import { preferSpeed } from '../../platform/heap-mode.js';

/** Rows from which an import is large: checkpoints on a worker thread (platform/db/bulk-writes.ts), indexing waits. */
const BULK_ROWS = 5000;
/** Least time the search indexer waits after a large import (search-indexer.ts `hold`). */
const INDEX_QUIET_MS = 3000;
/** Most rows in one SQLite import transaction. */
const MAX_SLICE_ROWS = 1000;

/** The deliver job's kind (defined in claims.ts; repeated here to avoid an import cycle). */
const DELIVER_KIND = 'certificates.deliver';

export interface ImportResult {
  added: number;
  duplicates: DuplicateLine[];
  rejected: LineIssue[];
}

/** The Recipient view of the v2 API (with its current credential's state when known). */
export function recipientView(r: RecipientRow, certificate?: CredentialState | null) {
  const fields = parseFieldValues(r.fields);
  return {
    ...(Object.keys(fields).length ? { fields } : {}),
    certificate: certificate ?? null,
    id: r.id,
    email: r.email,
    number: r.number,
    name: r.name,
    status: r.status,
    failure: r.failure,
    noticeCount: r.notice_count,
    certificateId: r.certificate_id,
    updatedAt: r.updated_at,
    unsubscribedAt: r.unsubscribed_at ?? null,
    bouncedAt: r.bounced_at ?? null,
  };
}

function csvCell(v: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- cells are strings, numbers or custom-field values
  let s = v === null || v === undefined ? '' : String(v);
  // Cells starting with = + - @ are formulas to spreadsheet programs: neutralise them.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Builds the recipients service. */
export function createRecipientsService(deps: Pick<CertDeps, 'db' | 'recipients' | 'campaigns' | 'issued' | 'now' | 'jobs'>) {
  const { db, recipients, campaigns, issued, now, jobs } = deps;

  /**
   * Stores rows in short transactions, yielding to the event loop between them: on SQLite (whose
   * statements run synchronously) a slice is sized to take about SLICE_MS, so a 100,000-row
   * import never holds the loop; a row's conflict on the email keeps a repeat from adding twice.
   * A large import's WAL checkpoints run on a worker thread (they wait for the disk).
   */
  async function insert(c: CampaignRow, rows: readonly NewRecipient[]): Promise<{ added: number; skipped: Set<string> }> {
    // V8's own heap growing while volunteers are stored, as while certificates are made
    // (heap-mode.ts): under --optimize-for-size the 1,000,000 import took 7.7-9.6 s where it
    // took 6.4-7.4 without (bench/README.md, "Latest"); a send batch still holds size mode.
    preferSpeed();
    let added = 0;
    const skipped = new Set<string>();
    const sqlite = dialectOf(db) === 'sqlite';
    let size = sqlite ? 100 : 2000;
    // The search indexer waits for the import (indexing between slices would only slow it down).
    // After a large one it waits as long again (at least INDEX_QUIET_MS), for the next part of
    // the same list: parsing that part takes about as long as storing this one.
    const large = rows.length >= BULK_ROWS;
    const started = performance.now();
    const release = recipients.searchIndex?.hold();
    const bulk = large ? recipients.bulkWrites() : undefined;
    try {
      for (let i = 0; i < rows.length;) {
        const slice = rows.slice(i, i + size);
        const t0 = performance.now();
        added += (await db.transaction().execute((trx) => recipients.insertMany(c.id, slice, now(), trx, skipped))).added;
        const ms = performance.now() - t0;
        await bulk?.committed();
        i += slice.length;
        if (sqlite) size = Math.max(10, Math.min(MAX_SLICE_ROWS, Math.round((size * SLICE_MS) / Math.max(ms, 0.5))));
        if (i < rows.length) await yieldToLoop();
      }
    } finally {
      await bulk?.end();
      release?.(large ? Math.max(INDEX_QUIET_MS, performance.now() - started) : 0);
    }
    return { added, skipped };
  }

  /** Stores checked rows: new custom fields join the campaign's; emails already there are duplicates. */
  async function store(c: CampaignRow, parsed: ParseResult): Promise<ImportResult> {
    const { valid, duplicates, rejected, customFields } = parsed;
    if (customFields.length) {
      const known = parseCustomFields(c.custom_fields);
      const merged = mergeFields(known, customFields);
      if (merged.length !== known.length) await campaigns.update(c.id, { custom_fields: JSON.stringify(merged), updated_at: now() });
    }
    // The checked lines are the rows (a ParsedLine is a NewRecipient): no copy per volunteer.
    const { added, skipped } = await insert(c, valid);
    if (skipped.size > 0)
      for (const v of valid)
        if (skipped.has(v.email))
          duplicates.push({ line: v.line, lineNo: v.lineNo, email: v.email, reason: `${v.email} is already in this campaign` });
    duplicates.sort((a, b) => a.lineNo - b.lineNo);
    return { added, duplicates, rejected };
  }

  /** Checks a file's rows under a mapping (none: a header row or the positional columns). */
  async function checkFile(file: ReadFile, mapping?: ColumnMapping): Promise<ParseResult> {
    try {
      if (!mapping) return await parseRowsAsync(file.rows, null);
      const width = Math.max(0, ...file.rows.slice(0, 1000).map((r) => r.cells.length));
      return await parseRowsAsync(mapping.header ? file.rows.slice(1) : file.rows, planFromMapping(mapping, width));
    } catch (err) {
      if (err instanceof ColumnsRejected) throw badInput(`columns: ${err.message}`);
      throw err;
    }
  }

  return {
    /**
     * Imports `email[,number[,name]]` lines, or lines under a header (first line, or `columns`)
     * naming the columns, whose other columns become the campaign's custom fields. A line whose
     * email is stored already is a duplicate.
     */
    async importLines(c: CampaignRow, lines: readonly string[], columns?: readonly string[]): Promise<ImportResult> {
      if (lines.length > MAX_IMPORT_LINES) throw badInput(`too many lines: at most ${MAX_IMPORT_LINES} per call`);
      let parsed;
      try {
        parsed = await parseLinesAsync(lines, columns);
      } catch (err) {
        if (err instanceof ColumnsRejected) throw badInput(`columns: ${err.message}`);
        throw err;
      }
      return store(c, parsed);
    },
    /**
     * Imports a CSV (any encoding and separator, quoted fields) or XLSX file, with the column
     * mapping chosen in the preview (none: a header row names the columns, else positional).
     */
    async importFile(
      c: CampaignRow,
      bytes: Buffer,
      opts: ReadOptions & { mapping?: ColumnMapping } = {},
    ): Promise<ImportResult & { format: string; encoding: string | null; separator: string | null }> {
      const file = await readImportFile(bytes, opts);
      const parsed = await checkFile(file, opts.mapping);
      const out = await store(c, parsed);
      return { ...out, format: file.format, encoding: file.encoding, separator: file.separator };
    },
    /**
     * What importing a file would do, storing nothing: the encoding and separator detected, the
     * proposed mapping, the first rows, and per-line problems under that mapping.
     */
    async previewFile(c: CampaignRow, bytes: Buffer, opts: ReadOptions & { mapping?: ColumnMapping } = {}) {
      const file = await readImportFile(bytes, opts);
      const guess = guessMapping(file.rows);
      const mapping = opts.mapping ?? guess.mapping;
      const parsed = await checkFile(file, mapping);
      let already = 0;
      const emails = parsed.valid.map((v) => v.email);
      for (let i = 0; i < emails.length; i += 500) already += (await recipients.knownEmails(c.id, emails.slice(i, i + 500))).size;
      return {
        format: file.format,
        encoding: file.encoding,
        separator: file.separator,
        totalRows: file.rows.filter((r) => r.cells.some((x) => x.trim())).length,
        columns: guess.roles.map((role, index) => ({ index, title: guess.titles[index] ?? '', role })),
        mapping,
        rows: file.rows.slice(0, 20).map((r) => ({ lineNo: r.lineNo, cells: r.cells.map((x) => x.slice(0, 200)) })),
        willAdd: parsed.valid.length - already,
        alreadyInCampaign: already,
        duplicates: parsed.duplicates.length,
        rejected: parsed.rejected.length,
        problems: parsed.rejected.slice(0, 100),
      };
    },
    /**
     * Imports the original's TinyDB data.json (see legacy-import.ts for what is kept, dropped and
     * reported). One transaction: emails already in the campaign are duplicates, tokens another
     * volunteer holds are dropped from the new row, and volunteers left at 2 or 3 get their
     * certificate (the deliver job is enqueued with the rows). A concurrent import that takes a
     * token between the check and the insert makes the transaction fail; it is run again.
     */
    async importTinyDb(c: CampaignRow, json: unknown): Promise<ImportResult & { tokensDropped: ImportNote[] }> {
      const plan = planLegacyImport(json);
      for (let attempt = 1; ; attempt++) {
        try {
          const rows = plan.rows.map((r) => ({ ...r }));
          const notes = [...plan.notes];
          const duplicates = [...plan.duplicates];
          const t = now();
          const { added, delivered } = await db.transaction().execute(async (trx) => {
            const known = await recipients.knownEmails(
              c.id,
              rows.map((r) => r.email),
              trx,
            );
            const fresh = rows.filter((r) => !known.has(r.email));
            for (const r of rows)
              if (known.has(r.email))
                duplicates.push({ line: r.line, lineNo: r.lineNo, email: r.email, reason: `${r.email} is already in this campaign` });
            const taken = await recipients.takenTokenHashes(
              fresh.flatMap((r) => (r.token ? [hashToken(r.token)] : [])),
              trx,
            );
            for (const r of fresh)
              if (r.token && taken.has(hashToken(r.token)))
                dropToken(r, notes, 'the token is already used by another volunteer (another campaign or an earlier import)');
            const ids = await recipients.insertLegacy(
              c.id,
              fresh.map((r) => ({
                email: r.email,
                name: r.name,
                number: r.number,
                status: r.status,
                token_hash: r.token ? hashToken(r.token) : null,
                issued_at: r.status >= 2 ? t : null,
                certificate_id: r.status >= 2 ? newCertificateId() : null,
              })),
              t,
              trx,
            );
            for (const r of fresh)
              if (!ids.has(r.email))
                duplicates.push({ line: r.line, lineNo: r.lineNo, email: r.email, reason: `${r.email} is already in this campaign` });
            // From 2 on a volunteer has a certificate: its credential is issued with the row, as a reset to 2+ does.
            for (const r of fresh) {
              const id = r.status >= 2 ? ids.get(r.email) : undefined;
              if (id !== undefined) await ensureIssued(issued, (await recipients.findById(id, trx))!, t, trx);
            }
            const toDeliver = fresh.filter((r) => (r.status === 2 || r.status === 3) && ids.has(r.email)).map((r) => ids.get(r.email)!);
            for (const id of toDeliver)
              await jobs.enqueue(DELIVER_KIND, { recipientId: id }, { trx, singletonKey: `${DELIVER_KIND}:${id}` });
            return { added: ids.size, delivered: toDeliver };
          });
          // Jobs written in the transaction are seen at commit; enqueueing again wakes the runner now.
          for (const id of delivered)
            await jobs.enqueue(DELIVER_KIND, { recipientId: id }, { singletonKey: `${DELIVER_KIND}:${id}` }).catch(() => undefined);
          duplicates.sort((a, b) => a.lineNo - b.lineNo);
          notes.sort((a, b) => a.lineNo - b.lineNo);
          // Notes are about volunteers imported now; a duplicate's own line says why it was not.
          const skipped = new Set(duplicates.map((d) => d.line));
          return { added, duplicates, rejected: plan.rejected, tokensDropped: notes.filter((n) => !skipped.has(n.line)) };
        } catch (err) {
          if (attempt >= 3 || !isUniqueViolation(err)) throw err;
        }
      }
    },
    /**
     * A page of the list in id order: by `cursor` (a `next` or `prev` of an earlier page), `last`
     * (the end), or page number. Each answers the cursors of the pages beside it (null: none
     * there).
     */
    async list(
      c: CampaignRow,
      q: { q?: string; status?: number; failed?: boolean; page: number; limit: number; cursor?: string; last?: boolean },
      states?: (ids: (string | null)[]) => Promise<Map<string, CredentialState>>,
    ) {
      const at = q.cursor === undefined ? undefined : parseCursor(q.cursor);
      if (at && q.last) throw badInput('cursor and last=true cannot go together');
      const keyed = at !== undefined || q.last === true;
      const { items, more, total, totalCapped, searchedRows, indexingRows } = await recipients.page(c.id, {
        q: q.q,
        status: q.status,
        failed: q.failed,
        offset: keyed ? 0 : (q.page - 1) * q.limit,
        limit: q.limit,
        ...(at?.after !== undefined ? { after: at.after } : {}),
        ...(at?.before !== undefined ? { before: at.before } : {}),
        last: q.last === true,
      });
      const first = items.at(0)?.id;
      const lastId = items.at(-1)?.id;
      const back = at?.before !== undefined || q.last === true;
      let next: string | null;
      let prev: string | null;
      if (back) {
        // Read backwards: `more` says whether rows come before; after it lies the page we came from.
        prev = more && first !== undefined ? `b${first}` : null;
        next = q.last ? null : lastId !== undefined ? `a${lastId}` : `a${at!.before! - 1}`;
      } else {
        next = more && lastId !== undefined ? `a${lastId}` : null;
        if (at?.after !== undefined) prev = first !== undefined ? `b${first}` : `b${at.after + 1}`;
        else prev = q.page > 1 && first !== undefined ? `b${first}` : null;
      }
      // One query for the page's credential states, not one per row.
      const st = states ? await states(items.map((r) => r.certificate_id)) : new Map<string, CredentialState>();
      return {
        items: items.map((r) => recipientView(r, r.certificate_id ? st.get(r.certificate_id) : null)),
        total,
        ...(totalCapped ? { totalCapped } : {}),
        ...(searchedRows ? { searchedRows } : {}),
        ...(indexingRows ? { indexingRows } : {}),
        next,
        prev,
        // Kept in every answer (the contract is additive only): the last page's number from the
        // total; with a cursor the number the client gave with it (its own count, 1 by default).
        page: q.last ? Math.max(1, Math.ceil(total / q.limit)) : q.page,
        limit: q.limit,
      };
    },
    async get(c: CampaignRow, id: number): Promise<RecipientRow> {
      const r = await recipients.findById(id);
      if (!r || r.campaign_id !== c.id) throw notFound('recipient');
      return r;
    },
    async findByEmail(c: CampaignRow, email: string) {
      const e = parseEmail(email);
      return e ? recipients.findByEmail(c.id, e) : undefined;
    },
    /**
     * Sets `status` (default 0: no link, no failure). At 2 or 3 (with a name) the certificate is
     * rendered and mailed again: the deliver job is enqueued in the same transaction.
     */
    async reset(r: RecipientRow, status = 0): Promise<RecipientRow> {
      await db.transaction().execute(async (trx) => {
        await recipients.reset(r.id, status, now(), newCertificateId(), trx);
        // A certificate issued earlier stays valid (revoking is its own, explicit action); a
        // volunteer set to 2+ without one gets its credential now.
        if (status >= 2) await ensureIssued(issued, (await recipients.findById(r.id, trx))!, now(), trx);
        if ((status === 2 || status === 3) && r.name) {
          await jobs.enqueue(DELIVER_KIND, { recipientId: r.id }, { trx, singletonKey: `${DELIVER_KIND}:${r.id}` });
        }
      });
      return (await recipients.findById(r.id))!;
    },
    /** CSV lines (header first), keyset-paged so memory stays flat for any campaign size. */
    async *exportCsv(c: CampaignRow): AsyncGenerator<string> {
      yield 'email,number,name,status,failure,certificate_id\n';
      let after = 0;
      for (;;) {
        const page = await recipients.after(c.id, after, 1000);
        if (page.length === 0) return;
        let chunk = '';
        for (const r of page) chunk += [r.email, r.number, r.name, r.status, r.failure, r.certificate_id].map(csvCell).join(',') + '\n';
        yield chunk;
        after = page[page.length - 1].id;
      }
    },
  };
}

export type RecipientsService = ReturnType<typeof createRecipientsService>;
