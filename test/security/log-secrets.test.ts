/**
 * Issue 10, item 7 (part): request logs carry no secret from a URL. The real app logs to a
 * stream at info (the access log's one line per request carries the URL); requests with every kind of
 * URL secret the four modules take (link tokens, activation codes, recovery tickets, mini-program
 * tokens and js_codes, the assistant's bind QR image path) leave none of them in the log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config.js';
import type { Core } from '../../src/platform/core.js';
import { buildApp, createAppCore } from '../../src/app.js';
import { createLogger, redactUrl } from '../../src/platform/logger.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});
let dir: string;
let core: Core;
let app: FastifyInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vh-logs-'));
  const config = parseConfig({
    DATA_DIR: dir,
    LOG_LEVEL: 'info',
    PORT: '0',
    ADMIN_TOKEN: 'test-admin-token',
    MINIPROGRAM_TRUST_CLIENT_OPENID: 'false',
  });
  core = await createAppCore(config, { logger: createLogger('info', 'json', sink) });
  app = await buildApp(core);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

const secret = (n: number) => `S3cr3t${n}x${'q'.repeat(20)}`;

describe('secrets in logged URLs (issue 10.7)', () => {
  it('keeps every URL secret out of the request log, on every module', async () => {
    const requests: Array<[string, string]> = [
      ['GET', `/api/getUserInfo?token=${secret(1)}`],
      ['GET', `/certificate?token=${secret(2)}`],
      ['GET', `/api/v2/certificates/claim?token=${secret(3)}`],
      ['GET', `/api/v2/certificates/claim/download?token=${secret(4)}&format=png`],
      ['GET', `/v1/users/activation?code=${secret(5)}`],
      ['GET', `/accounts/active?code=${secret(6)}`],
      ['POST', `/v1/users/password/new?ticket=${secret(7)}`],
      ['POST', `/service/user/get?openid=o1&token=${secret(8)}`],
      ['POST', `/service/user/getOpenid?js_code=${secret(9)}`],
      ['GET', `/static/qrimages/${secret(10)}.png`],
      ['GET', `/api/getUserInfo?campaign=default&TOKEN=${secret(11)}`],
    ];
    for (const [method, url] of requests) await app.inject({ method: method as 'GET', url, payload: method === 'POST' ? {} : undefined });
    const log = lines.join('\n');
    const incoming = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(incoming.length).toBeGreaterThanOrEqual(requests.length);
    for (let n = 1; n <= requests.length; n++) expect(log).not.toContain(secret(n));
    // What is kept is still useful: the path, the other parameters, where a secret was.
    const urls = incoming.map((l) => l.url);
    expect(urls).toContain('/api/getUserInfo?token=[redacted]');
    expect(urls).toContain('/api/v2/certificates/claim/download?token=[redacted]&format=png');
    expect(urls).toContain('/service/user/get?openid=o1&token=[redacted]');
    expect(urls).toContain('/static/qrimages/[redacted]');
  });

  it('redacts by parameter name only', () => {
    expect(redactUrl('/mongodb/show?id=3')).toBe('/mongodb/show?id=3');
    expect(redactUrl('/x?mytoken=1&token=2')).toBe('/x?mytoken=1&token=[redacted]');
    expect(redactUrl('/unsubscribe/12.abcdefABCDEF_-0123456789abcdefABCDEF_-0123')).toBe('/unsubscribe/[redacted]');
    expect(redactUrl('/x?a=1&session_key=k#frag')).toBe('/x?a=1&session_key=[redacted]#frag');
  });
});
