/**
 * Boots the real app for the miniprogram tests, like test/helpers/app.ts, plus what these tests
 * need: a fake WeChat API on loopback, every log line captured (to prove secrets never reach the
 * log), a clock the test moves, and small request helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config.js';
import type { Core } from '../../src/platform/core.js';
import { buildApp, createAppCore } from '../../src/app.js';
import { createMigratedTestDatabase, type TestDialect } from '../helpers/db.js';
import { startFakeWechat, type FakeWechat } from '../helpers/fake-wechat.js';

export const APPID = 'wx0123456789abcdef';
export const SECRET = 'fake-miniprogram-secret-0123456789';

export interface MpTestApp {
  core: Core;
  app: FastifyInstance;
  fake: FakeWechat;
  logs: string[];
  clock: { t: number };
  /** POSTs JSON to /service/user/<name>; answers the parsed envelope. */
  post(name: string, body?: unknown, headers?: Record<string, string>): Promise<{ code: number; msg: string; data: any }>;
  /** POSTs a form (application/x-www-form-urlencoded). */
  postForm(name: string, form: Record<string, string>, headers?: Record<string, string>): Promise<{ code: number; msg: string; data: any }>;
  /** Makes the fake answer jscode2session with `openid` and a session_key, then calls getOpenid. */
  openSession(openid: string, sessionKey?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startMpApp(dialect: TestDialect, env: Record<string, string> = {}): Promise<MpTestApp> {
  const fake = await startFakeWechat();
  const dataDir = mkdtempSync(join(tmpdir(), 'vh-mp-'));
  const database = await createMigratedTestDatabase(dialect, dataDir);
  const config = parseConfig({
    DATA_DIR: dataDir,
    LOG_LEVEL: 'trace',
    ADMIN_TOKEN: 'test-admin-token',
    PORT: '0',
    DATABASE_URL: database.config.dialect === 'postgres' ? database.config.url : database.config.file,
    WECHAT_API_BASE: fake.url,
    WECHAT_MINIPROGRAM_APPID: APPID,
    WECHAT_MINIPROGRAM_SECRET: SECRET,
    // Generous: a loaded machine must not turn the fake's prompt answers into timeouts. The
    // slow-WeChat test starts its own app with a short timeout.
    WECHAT_API_TIMEOUT_MS: '10000',
    ...env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const clock = { t: Date.UTC(2026, 0, 15, 4, 0, 0) };
  const core = await createAppCore(config, { logger: pino({ level: 'trace' }, sink), now: () => clock.t });
  const app = await buildApp(core);
  await app.ready();

  async function send(name: string, payload: string | undefined, headers: Record<string, string>) {
    const res = await app.inject({ method: 'POST', url: `/service/user/${name}`, payload, headers });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${res.body}`);
    return res.json();
  }
  const t: MpTestApp = {
    core,
    app,
    fake,
    logs,
    clock,
    post: (name, body, headers = {}) =>
      send(
        name,
        body === undefined ? undefined : JSON.stringify(body),
        body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ),
    postForm: (name, form, headers = {}) =>
      send(name, new URLSearchParams(form).toString(), { 'content-type': 'application/x-www-form-urlencoded', ...headers }),
    async openSession(openid, sessionKey = `sk-${openid}-secret`) {
      fake.on('/sns/jscode2session', () => ({ openid, session_key: sessionKey }));
      const r = await t.post('getOpenid', { js_code: `code${openid.replace(/[^A-Za-z0-9]/g, '')}` });
      if (r.code !== 0) throw new Error(`getOpenid failed: ${JSON.stringify(r)}`);
      return r.data.token as string;
    },
    async close() {
      await app.close();
      await core.close();
      await fake.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A valid registration for `openid`. */
export function registration(openid: string, over: Record<string, unknown> = {}) {
  return { openid, phone: '13812345678', qq: '12345678', cardno: 'A2020123456', wxid: 'weixin_id123', ...over };
}
