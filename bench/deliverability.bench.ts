/**
 * What deliverability adds to a notice (`npm run bench -- deliverability`): composing N notices as
 * nodemailer sends them (stream transport, the same composer as SMTP), plain (the floor), with the
 * List-Unsubscribe headers and framed parts, and also DKIM-signed (rsa-sha256, 2048-bit key).
 * CPU per message (all threads) and the ratio to the floor measured in the same run.
 */
import { generateKeyPairSync } from 'node:crypto';
import { composeRaw } from '../src/platform/mail/dev-mailbox.js';
import type { OutgoingMail } from '../src/platform/mail/types.js';
import { DEFAULT_NOTICE_BODY, DEFAULT_NOTICE_SUBJECT, frameNotice, renderMail } from '../src/modules/certificates/mail-templates.js';
import { report, writeResults } from './lib.js';

const N = Number(process.env.DELIVERABILITY_BENCH_N ?? 2000);
const results: Record<string, unknown> = { n: N };
const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function notice(i: number, kind: 'plain' | 'headers' | 'dkim'): OutgoingMail {
  const link = `https://vh.example.org/certificate?token=${'x'.repeat(43)}${i}`;
  const vals = {
    name: `王芳 ${i}`,
    email: `v${i}@example.net`,
    link,
    organization: '绿河志愿者协会',
    website: 'https://greenriver.example',
    number: `NO-${i}`,
  };
  const m = renderMail(DEFAULT_NOTICE_SUBJECT, DEFAULT_NOTICE_BODY, vals);
  const base: OutgoingMail = { to: vals.email, ...m, messageId: `<notice.${i}.1@vh.example.org>` };
  if (kind === 'plain') return base;
  const framed = frameNotice(m, {
    organization: vals.organization,
    link,
    website: vals.website,
    unsubscribeUrl: `https://vh.example.org/unsubscribe/${i}.${'y'.repeat(43)}`,
  });
  const mail: OutgoingMail = {
    ...base,
    ...framed,
    fromName: '绿河志愿者协会',
    replyTo: 'organizer@greenriver.example',
    headers: {
      'List-Unsubscribe': `<https://vh.example.org/unsubscribe/${i}.${'y'.repeat(43)}>, <mailto:organizer@greenriver.example?subject=unsubscribe>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
  };
  if (kind === 'dkim') mail.dkim = { domainName: 'greenriver.example', keySelector: 'vh2026', privateKey };
  return mail;
}

async function cpuPerMessage(kind: 'plain' | 'headers' | 'dkim'): Promise<number> {
  for (let i = 0; i < 50; i++) await composeRaw(notice(i, kind), 'notices@greenriver.example'); // warm-up
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await composeRaw(notice(i, kind), 'notices@greenriver.example');
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / N;
}

// The floor is measured before and after (the JIT warms up over the first pass); the lower one counts.
const floor1 = await cpuPerMessage('plain');
const headers = await cpuPerMessage('headers');
const dkim = await cpuPerMessage('dkim');
const floor = Math.min(floor1, await cpuPerMessage('plain'));
report(results, 'cpu ms per notice, plain (floor)', Number(floor.toFixed(3)));
report(results, 'cpu ms per notice, sender + List-Unsubscribe + framed parts', Number(headers.toFixed(3)));
report(results, 'cpu ms per notice, also DKIM-signed', Number(dkim.toFixed(3)));
report(results, 'ratio headers/floor', Number((headers / floor).toFixed(2)));
report(results, 'ratio dkim/floor', Number((dkim / floor).toFixed(2)));
writeResults('deliverability', results);
