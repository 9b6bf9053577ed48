/**
 * The organizer's "all certificates as one ZIP" at 100,000 certificates (SQLite): the ZIP is
 * streamed through the same code the route uses (credentials/downloads.ts) into a sink that only
 * counts bytes and keeps the last 64 KB (to check the ZIP64 end records), sampling the process's
 * RSS and heap every 10,000 entries. Memory must stay flat: only the certificates in flight and
 * the central directory (a few dozen bytes per entry) are held, never the images.
 *
 * Floor, measured in the same run: rendering + signing + baking one certificate alone (the ZIP
 * adds its framing on top); the figure is the ZIP's throughput as a ratio to that floor.
 * A small template (240x170) keeps the run to minutes; the per-entry cost scales with the
 * template as `npm run bench -- render` shows.
 *
 *   npm run bench -- certificates-zip        (CERT_ZIP_N=20000 for a shorter run)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCanvas } from '@napi-rs/canvas';
import { sql } from 'kysely';
import { parseConfig } from '../src/config.js';
import { createAppCore } from '../src/app.js';
import { createServices } from '../src/modules/certificates/services.js';
import { certificatesZip } from '../src/modules/certificates/credentials/downloads.js';
import { report, writeResults } from './lib.js';

const N = Number(process.env.CERT_ZIP_N ?? 100_000);
const results: Record<string, unknown> = { certificates: N };
const dir = mkdtempSync(join(tmpdir(), 'vh-zip-bench-'));
const core = await createAppCore(
  parseConfig({ DATA_DIR: dir, LOG_LEVEL: 'warn', PORT: '0', ADMIN_TOKEN: 'bench', PUBLIC_URL: 'https://certs.example.org' }),
);
try {
  const svc = createServices(core);
  const c = await svc.campaign.create({ name: 'Bench 2026', slug: 'bench' });
  const canvas = createCanvas(240, 170);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fbf7ee';
  g.fillRect(0, 0, 240, 170);
  g.strokeStyle = '#b08d57';
  g.lineWidth = 4;
  g.strokeRect(5, 5, 230, 160);
  const row = await svc.campaign.resolve(c.id);
  await svc.campaign.setTemplate(row, canvas.toBuffer('image/png'));
  await svc.campaign.patch(await svc.campaign.resolve(c.id), {
    organization: 'Bench Volunteers',
    layout: { qr: { x: 180, y: 110, size: 50 } },
  });
  const campaign = await svc.campaign.resolve(c.id);

  // 100,000 issued credentials, written directly (one transaction).
  const t0 = Date.now();
  const now = Date.now();
  await core.db.transaction().execute(async (trx) => {
    for (let i = 0; i < N; i += 1000) {
      const rows = Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({
        public_id: `bench${String(i + k).padStart(17, '0')}`,
        campaign_id: c.id,
        recipient_id: null,
        name: `志愿者 ${i + k}`,
        number: `B-${i + k}`,
        fields: null,
        issued_at: now,
        status_index: i + k,
        created_at: now,
      }));
      await trx.insertInto('issued_certificates').values(rows).execute();
    }
    await sql`UPDATE campaigns SET status_next = ${N} WHERE id = ${c.id}`.execute(trx);
  });
  report(results, 'setupSeconds', (Date.now() - t0) / 1000);

  // Floor: one certificate rendered, signed and baked, one at a time.
  const sample = await svc.deps.issued.validAfter(c.id, -1, 200);
  for (const r of sample.slice(0, 20)) await svc.credentials.file({ row: r, campaign }); // warm-up
  const f0 = process.hrtime.bigint();
  for (const r of sample) await svc.credentials.file({ row: r, campaign });
  const floorPerSec = sample.length / (Number(process.hrtime.bigint() - f0) / 1e9);
  report(results, 'floorFilesPerSec', Math.round(floorPerSec));

  // The ZIP, streamed into a counting sink.
  let bytes = 0;
  const tailChunks: Buffer[] = [];
  let tailBytes = 0;
  const samples: Array<{ entries: number; rssMB: number; heapMB: number }> = [];
  let entries = 0;
  const mem = () => process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      // Keep the last 64 KB without copying it on every small write (the central directory is
      // written in tens of small writes per entry).
      tailChunks.push(chunk);
      tailBytes += chunk.length;
      while (tailChunks.length > 1 && tailBytes - tailChunks[0].length >= 65536) tailBytes -= tailChunks.shift()!.length;
      // Local file headers: count entries as they pass.
      for (let i = chunk.indexOf(0x50); i >= 0 && i < chunk.length - 3; i = chunk.indexOf(0x50, i + 1)) {
        if (chunk[i + 1] === 0x4b && chunk[i + 2] === 0x03 && chunk[i + 3] === 0x04) {
          entries++;
          if (entries % 10_000 === 0) {
            const m = mem();
            samples.push({ entries, rssMB: mb(m.rss), heapMB: mb(m.heapUsed) });
            process.stdout.write(`  ${entries} entries, RSS ${mb(m.rss)} MB, heap ${mb(m.heapUsed)} MB\n`);
          }
        }
      }
      cb();
    },
  });
  const startRss = mem().rss;
  const z0 = process.hrtime.bigint();
  await pipeline(
    certificatesZip({ issued: svc.deps.issued, credentials: svc.credentials }, campaign, (err) => console.error(err)),
    sink,
  );
  const seconds = Number(process.hrtime.bigint() - z0) / 1e9;
  report(results, 'zipSeconds', Math.round(seconds));
  report(results, 'zipFilesPerSec', Math.round(N / seconds));
  report(results, 'zipRatioToFloor', Math.round((N / seconds / floorPerSec) * 100) / 100);
  report(results, 'zipGB', Math.round((bytes / 1024 ** 3) * 100) / 100);
  report(results, 'memory', samples);
  const first = samples[0];
  const last = samples[samples.length - 1];
  report(results, 'rssStartMB', mb(startRss));
  report(results, 'rssGrowthFirstToLastSampleMB', last && first ? Math.round((last.rssMB - first.rssMB) * 10) / 10 : null);
  report(
    results,
    'heapGrowthPerEntryBytes',
    last && first && last.entries > first.entries
      ? Math.round(((last.heapMB - first.heapMB) * 1024 * 1024) / (last.entries - first.entries))
      : null,
  );
  // The end of a ZIP with more than 65,535 entries: a ZIP64 end record and its locator.
  const tail = Buffer.concat(tailChunks);
  const z64 = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]));
  const count =
    z64 >= 0 ? Number(tail.readBigUInt64LE(z64 + 32)) : tail.readUInt16LE(tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06])) + 10);
  report(results, 'entriesInCentralDirectory', count);
  if (count !== N || entries !== N) throw new Error(`expected ${N} entries, central directory says ${count}, stream had ${entries}`);
  writeResults('certificates-zip', results);
} finally {
  await core.close();
  rmSync(dir, { recursive: true, force: true });
}
