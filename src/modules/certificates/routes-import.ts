/**
 * Organizer routes for importing a file (v2, admin token): a preview that stores nothing
 * (encoding, separator, proposed column mapping, first rows, per-line problems) and the import
 * with the mapping chosen. Both take multipart/form-data: `file` (CSV in any common encoding and
 * separator, or XLSX; at most 16 MB) and optionally `options`, a JSON text
 * `{encoding?, separator?, mapping?}`. Registered inside the v2 admin scope (routes-v2.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badInput } from './errors.js';
import { idParams, importResultSchema } from './schemas.js';
import type { Services } from './services.js';

const P = '/api/v2/certificates';
const FILE_MAX = 16 * 1024 * 1024;

const mappingSchema = z
  .object({
    email: z.number().int().min(0).max(1000),
    number: z.number().int().min(0).max(1000).nullable().optional(),
    name: z.number().int().min(0).max(1000).nullable().optional(),
    fields: z
      .array(z.object({ index: z.number().int().min(0).max(1000), label: z.string().max(100) }).strict())
      .max(20)
      .optional(),
    header: z.boolean(),
  })
  .strict();
const optionsSchema = z
  .object({
    encoding: z
      .string()
      .max(40)
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional(),
    separator: z.enum([',', ';', '\t']).optional(),
    mapping: mappingSchema.optional(),
  })
  .strict();
type Options = z.infer<typeof optionsSchema>;

const role = z.enum(['email', 'number', 'name', 'field', 'ignore']);
const previewSchema = z.object({
  format: z.enum(['csv', 'xlsx']),
  encoding: z.string().nullable().describe('detected (or given) encoding of a CSV, e.g. utf-8, gb18030'),
  separator: z.string().nullable().describe('detected (or given) separator of a CSV: , ; or tab'),
  totalRows: z.number(),
  columns: z.array(z.object({ index: z.number(), title: z.string(), role })).describe('the proposed role of each column'),
  mapping: mappingSchema.describe('the mapping the counts below use (the proposed one unless given)'),
  rows: z.array(z.object({ lineNo: z.number(), cells: z.array(z.string()) })).describe('the first 20 rows as read'),
  willAdd: z.number(),
  alreadyInCampaign: z.number(),
  duplicates: z.number(),
  rejected: z.number(),
  problems: z
    .array(z.object({ line: z.string(), lineNo: z.number(), reason: z.string() }))
    .describe('the first 100 rejected lines with their reasons'),
});

const multipartBody = {
  consumes: ['multipart/form-data'],
  description:
    'multipart/form-data: `file` (CSV or XLSX, at most 16 MB) and optionally `options` (JSON: {encoding?, separator?, mapping?: {email, number?, name?, fields?: [{index, label}], header}})',
};

async function readUpload(req: FastifyRequest): Promise<{ bytes: Buffer; options: Options }> {
  if (!req.isMultipart()) throw badInput('send multipart/form-data with the field "file" (and optionally "options")');
  let bytes: Buffer | undefined;
  let raw: string | undefined;
  for await (const part of req.parts({ limits: { fileSize: FILE_MAX, files: 1, fields: 5, fieldSize: 64 * 1024 } })) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') {
        part.file.resume();
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of part.file as AsyncIterable<Buffer>) chunks.push(chunk);
      if (part.file.truncated) throw badInput('file rejected: larger than 16 MB (split it, or import it with the CLI)');
      bytes = Buffer.concat(chunks);
    } else if (part.fieldname === 'options') {
      raw = String(part.value);
    }
  }
  if (!bytes) throw badInput('the multipart field "file" is missing');
  let options: Options = {};
  if (raw) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw badInput('options: not JSON', { field: 'options' });
    }
    const r = optionsSchema.safeParse(json);
    if (!r.success)
      throw badInput(`options: ${r.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ')}`, {
        field: 'options',
      });
    options = r.data;
  }
  return { bytes, options };
}

export function registerImportRoutes(scope: FastifyInstance, svc: Services): void {
  const rr = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['certificates (v2, organizer)'];
  const security = [{ adminToken: [] }];
  const s = <T extends object>(o: T) => ({ tags, security, ...o });

  rr.post(
    `${P}/campaigns/:id/recipients/preview`,
    {
      bodyLimit: FILE_MAX + 1024 * 1024,
      schema: s({
        summary:
          'Previews an import file, storing nothing: detected encoding and separator, proposed column mapping, the first rows, and per-line problems',
        ...multipartBody,
        params: idParams,
        response: { 200: previewSchema },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const { bytes, options } = await readUpload(req);
      return svc.recipients.previewFile(c, bytes, options);
    },
  );

  rr.post(
    `${P}/campaigns/:id/recipients/import`,
    {
      bodyLimit: FILE_MAX + 1024 * 1024,
      schema: s({
        summary:
          'Imports a file (CSV in any common encoding and separator, quoted fields, `Name <email>` cells; or XLSX) with the mapping chosen in the preview (none: a header row names the columns, else email[,number[,name]])',
        ...multipartBody,
        params: idParams,
        response: {
          200: importResultSchema.extend({ format: z.string(), encoding: z.string().nullable(), separator: z.string().nullable() }),
        },
      }),
    },
    async (req) => {
      const c = await svc.campaign.resolve(req.params.id);
      const { bytes, options } = await readUpload(req);
      return svc.recipients.importFile(c, bytes, options);
    },
  );
}
