/**
 * Which SQLite connection the webhook uses (issue 15). Every message commits on the main
 * connection (its dedupe record), and SQLite makes a connection that reads after another one
 * committed drop its page cache and, with mmap on (the read-only connection, platform/db/reader.ts),
 * unmap and map the file again: one munmap + mmap and fresh page faults per message, which grew
 * to the webhook's main cost when the machine was loaded (small batches, one commit per
 * message). So the webhook's reads stay on the main connection, whose cache its own commits keep.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CallbackAccount } from '../../src/platform/wechat/callback.js';
import { member, ORIGIN, send, startAutoreply, text, type Ctx } from './helpers.js';

describe('autoreply webhook on SQLite: connections', () => {
  let ctx: Ctx;
  let acc: CallbackAccount;
  let path: string;
  let prepared: string[];

  beforeAll(async () => {
    ctx = await startAutoreply('sqlite');
    const reader = ctx.t.core.handle.reader!;
    expect(reader).toBeDefined();
    // Statements are prepared on first use and cached: every statement the reader ever runs
    // passes through prepare() once.
    const prepare = reader.prepare.bind(reader);
    prepared = [];
    vi.spyOn(reader, 'prepare').mockImplementation((text: string) => {
      prepared.push(text);
      return prepare(text);
    });
    const m = await member(ctx, 'conn_owner');
    const r = await ctx.t.app.inject({
      method: 'POST',
      url: '/api/v2/autoreply/accounts',
      payload: { appid: 'wxmember000000009', secret: 'membersecret000000000009', token: 'conntoken', aes_key: null },
      headers: { ...ORIGIN, cookie: m.cookie },
    });
    expect(r.statusCode).toBe(201);
    path = new URL(r.json().callback_url).pathname;
    acc = { appid: 'wxmember000000009', token: 'conntoken', aesKey: null };
    const s = await ctx.t.app.inject({
      method: 'PUT',
      url: `/api/v2/autoreply/settings?account=${r.json().id}`,
      payload: { defaultReply: '稍后回复您' },
      headers: { ...ORIGIN, cookie: m.cookie },
    });
    expect(s.statusCode).toBe(200);
  });
  afterAll(async () => ctx?.close());

  it('answers messages (the default reply once per follower) without reading through the read-only connection', async () => {
    prepared.length = 0;
    expect((await send(ctx, path, acc, text('fc1', '随便说说'))).reply).toBe('稍后回复您');
    expect((await send(ctx, path, acc, text('fc2', '随便说说'))).reply).toBe('稍后回复您');
    expect((await send(ctx, path, acc, text('fc1', '再说一句'))).raw).toBe('success');
    expect(prepared.filter((sql) => /\bar_/.test(sql))).toEqual([]);
  });
});
