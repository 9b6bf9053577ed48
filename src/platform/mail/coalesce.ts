/**
 * Joins a message's small chunks before they reach the SMTP socket. nodemailer's MIME tree
 * streams each header block, boundary and short body part as a chunk of its own, and each chunk
 * became one socket write: 19 writes for a certificate mail (39.5 KB), each a system call and a
 * wake-up of the server's reader. Joined, it is 4 (bench/README.md "Claims, an eighth pass").
 * A chunk of the threshold or more (an attachment's base64) passes on as it is, after what was
 * pending, so a message is still streamed, not written as one buffer (see SmtpPools.send).
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Pending bytes are sent once they reach this (and at the end). */
export const COALESCE_MIN_BYTES = 16 * 1024;

export class CoalesceChunks extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly minBytes = COALESCE_MIN_BYTES) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (chunk.length >= this.minBytes) {
      this.sendPending();
      this.push(chunk);
    } else {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= this.minBytes) this.sendPending();
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    this.sendPending();
    done();
  }

  private sendPending(): void {
    if (this.pendingBytes === 0) return;
    this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }
}
