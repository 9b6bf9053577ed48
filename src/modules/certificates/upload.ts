/** Reads the `template` field of a multipart upload, refusing more than 20 MB while streaming. */
import type { FastifyRequest } from 'fastify';
import { badInput } from './errors.js';

/** Largest template accepted (the render engine also refuses more than 40 megapixels). */
export const TEMPLATE_MAX_BYTES = 20 * 1024 * 1024;

/** Reads an image upload's file field (`template` by default; `logo` for the issuer logo). */
export async function readTemplateField(req: FastifyRequest, field = 'template', maxBytes = TEMPLATE_MAX_BYTES): Promise<Buffer> {
  const mb = Math.round(maxBytes / 1024 / 1024);
  if (!req.isMultipart()) throw badInput(`send the ${field} as multipart/form-data with the field "${field}"`);
  for await (const part of req.parts({ limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 1024 } })) {
    if (part.type === 'file' && part.fieldname === field) {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        size += chunk.length;
        chunks.push(chunk);
      }
      if (part.file.truncated || size > maxBytes) throw badInput(`${field} rejected: larger than ${mb} MB`);
      if (size === 0) throw badInput(`${field} rejected: the file is empty`);
      return Buffer.concat(chunks, size);
    }
    if (part.type === 'file') part.file.resume();
  }
  throw badInput(`the multipart field "${field}" is missing`);
}
