/**
 * The pooled SMTP send's write coalescing (src/platform/mail/coalesce.ts): nodemailer's MIME
 * stream hands over each header block and boundary as its own chunk, and each chunk became a
 * socket write of its own (19 per certificate mail); small chunks are now joined, large ones
 * pass on as they are (the message still streams), and the bytes are the same.
 */
import { randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import PostalMime from 'postal-mime';
import { describe, expect, it, vi } from 'vitest';
import { CoalesceChunks } from '../../src/platform/mail/coalesce.js';
import { SmtpPools } from '../../src/platform/mail/smtp.js';
import type { OutgoingMail } from '../../src/platform/mail/types.js';
import { startSmtpServer } from './smtp-server.js';

async function through(parts: Buffer[], min?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(parts, { objectMode: false }),
    new CoalesceChunks(min),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return out;
}

describe('CoalesceChunks', () => {
  it('joins small chunks into one, in order, bytes unchanged', async () => {
    const parts = ['Content-Type: multipart/mixed\r\n', '\r\n', '--b\r\n', 'hello\r\n', '--b--\r\n'].map((s) => Buffer.from(s));
    const out = await through(parts);
    expect(out).toHaveLength(1);
    expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
  });

  it('passes a chunk of the threshold or more on as it is, after what was pending', async () => {
    const big = Buffer.alloc(40_000, 65);
    const parts = [Buffer.from('head\r\n'), Buffer.from('--b\r\n'), big, Buffer.from('\r\n--b--\r\n')];
    const out = await through(parts, 16_384);
    expect(out.map((c) => c.length)).toEqual([11, 40_000, 9]);
    expect(out[1]).toBe(big);
    expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
  });

  it('sends pending small chunks once they reach the threshold (a long message still streams)', async () => {
    const parts = Array.from({ length: 100 }, (_, i) => Buffer.from(`${String(i).padStart(3, '0')}`.repeat(100)));
    const out = await through(parts, 1000);
    expect(out.length).toBe(25);
    for (const c of out.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(1000);
    expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
  });
});

describe('SmtpPools.send', () => {
  it('writes a mail with an attachment to the socket in a few writes, the attachment intact', async () => {
    const server = await startSmtpServer();
    const pools = new SmtpPools({ maxConnections: 1 });
    const options = { host: '127.0.0.1', port: server.port, ignoreTLS: true };
    const png = randomBytes(28_000);
    const mail = (i: number): OutgoingMail => ({
      to: `v${i}@example.org`,
      subject: `Your certificate ${i}`,
      text: 'Hello\n'.repeat(50),
      html: '<p>Hello</p>'.repeat(50),
      messageId: `<certificate.${i}.1@example.org>`,
      attachments: [{ filename: 'cert.png', contentType: 'image/png', content: png }],
    });
    try {
      await pools.send(options, mail(1), 'noreply@example.org'); // the connection's greeting and EHLO
      const write = vi.spyOn(Socket.prototype, 'write');
      await pools.send(options, mail(2), 'noreply@example.org');
      const toServer = write.mock.contexts.filter((s) => (s as Socket).remotePort === server.port).length;
      write.mockRestore();
      // MAIL FROM and RCPT TO (corked: one system call), DATA, the head, the attachment, the tail,
      // the final dot: 7 calls; 20 before the chunks were joined.
      expect(toServer).toBeLessThanOrEqual(8);
      expect(server.received).toHaveLength(2);
      const parsed = await PostalMime.parse(server.received[1].raw);
      expect(parsed.messageId).toBe('<certificate.2.1@example.org>');
      expect(parsed.html).toBe('<p>Hello</p>'.repeat(50));
      expect(Buffer.from(parsed.attachments[0].content as ArrayBuffer).equals(png)).toBe(true);
    } finally {
      await pools.close();
      await server.close();
    }
  });
});
