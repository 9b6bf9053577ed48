/**
 * Issue 15 (idle under 100 MB resident): what `serve` loads before anyone asks for a rare path.
 * The real service in its own process; every module file it loads is recorded (a loader hook,
 * test/helpers/module-log.mjs) through start-up and a visitor's, a volunteer's and the organizer's
 * first requests. Packages that only a rare path needs (a file import's charset detection, the
 * bounce mailbox, signing a credential, a QR code, a phone number, the dev mailbox's MIME parser,
 * a ZIP download, PostgreSQL's LISTEN client) must not be among them: each is loaded on first use.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { serverArgs } from '../helpers/server-build.js';

const ROOT = join(import.meta.dirname, '../..');
const ADMIN = 'startup-footprint-admin-token-5f2c9a81d7e3';
const RARE = [
  'jschardet',
  'iconv-lite',
  'csv-parse',
  'imapflow',
  'mailparser',
  'jose',
  'qrcode',
  'libphonenumber-js',
  'postal-mime',
  'cli-progress',
  'zip-stream',
  // Not rare, but loaded by the first mail: none is sent here.
  'nodemailer',
  'pg',
  '@napi-rs/canvas',
  '@zxcvbn-ts/core',
  // Member accounts' password hashing: loaded by the first registration or sign-in.
  '@node-rs/argon2',
];
const dir = mkdtempSync(join(tmpdir(), 'vh-footprint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The service starts in seconds, minutes on a loaded machine.
it('serve loads no rare-path package at start or on the first common requests', { timeout: 240_000 }, async () => {
  const log = join(dir, 'modules.txt');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', './test/helpers/module-log.mjs', ...serverArgs(['serve'])], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: '',
      SMTP_URL: 'smtp://127.0.0.1:2',
      PUBLIC_URL: '',
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
      MODULE_LOG_FILE: log,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${stderr}`);
      try {
        if ((await fetch(`${base}/healthz`)).ok) break;
      } catch {
        if (i > 900) throw new Error(`serve did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const auth = { authorization: `Bearer ${ADMIN}` };
    for (const path of ['/', '/admin', '/api/getUserInfo?token=nobody', '/api/v2/certificates/campaigns']) {
      expect((await fetch(`${base}${path}`, { headers: auth })).status).toBeLessThan(500);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  const packages = new Set(
    readFileSync(log, 'utf8')
      .split('\n')
      .map((p) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(p)?.[1])
      .filter((p): p is string => !!p),
  );
  expect(packages.has('fastify')).toBe(true); // the log works
  expect(RARE.filter((p) => packages.has(p))).toEqual([]);
});
