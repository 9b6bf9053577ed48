/** Reads the `template` field of a multipart upload, refusing more than 20 MB while streaming. */
import type { FastifyRequest } from 'fastify';
import { badInput } from './errors.js';

/** Largest template accepted (the render engine also refuses more than 40 megapixels). */
export const TEMPLATE_MAX_BYTES = 20 * 1024 * 1024;

export async function readTemplateField(req: FastifyRequest): Promise<Buffer> {
  if (!req.isMultipart()) throw badInput('send the template as multipart/form-data with the field "template"');
  for await (const part of req.parts({ limits: { fileSize: TEMPLATE_MAX_BYTES, files: 1, fields: 10, fieldSize: 1024 } })) {
    if (part.type === 'file' && part.fieldname === 'template') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        size += chunk.length;
        chunks.push(chunk);
      }
      if (part.file.truncated || size > TEMPLATE_MAX_BYTES) throw badInput('template rejected: larger than 20 MB');
      if (size === 0) throw badInput('template rejected: the file is empty');
      return Buffer.concat(chunks, size);
    }
    if (part.type === 'file') part.file.resume();
  }
  throw badInput('the multipart field "template" is missing');
}
