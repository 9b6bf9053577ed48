/**
 * Issue 10 item 8 (work one caller can force), lists paged in SQL: listing a member's rules read
 * every rule, keyword and reply of the set and sliced the page in memory (and searched there), so
 * each page of a 20,000-rule set cost the whole set. Now the page and the search happen in SQL and
 * only the page's keywords and replies are read. Counted here as rows the database returns, through
 * a plugin on the app's own Kysely instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin } from 'kysely';
import { parseConfig } from '../../src/config.js';
import { type Core } from '../../src/platform/core.js';
import { createAppCore } from '../../src/app.js';
import { buildApp } from '../../src/app.js';
import { createMigratedTestDatabase, testDialects } from '../helpers/db.js';
import { createAccountsService } from '../../src/modules/accounts/index.js';
import { createAutoreply } from '../../src/modules/autoreply/index.js';

const N = 3000;
const P = '/api/v2/autoreply';

describe.each(testDialects())('rule lists paged in SQL (%s)', (dialect) => {
  let core: Core;
  let app: FastifyInstance;
  let dir: string;
  let drop: () => Promise<void>;
  let token: string;
  const rows = { n: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vh-paging-'));
    const database = await createMigratedTestDatabase(dialect, dir);
    drop = database.drop;
    const config = parseConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      PORT: '0',
      PUBLIC_URL: 'http://hub.test',
      DATABASE_URL: database.config.dialect === 'postgres' ? database.config.url : database.config.file,
    });
    core = await createAppCore(config);
    const counting: KyselyPlugin = {
      transformQuery: (a) => a.node,
      transformResult: async (a) => {
        rows.n += a.result.rows.length;
        return a.result;
      },
    };
    const ar = createAutoreply(core);
    const owner = await createAccountsService({ db: core.db, dialect: core.dialect, now: Date.now }).createUser({
      username: 'pager',
      password: 'correct horse battery',
      isActive: true,
    });
    const setId = Number((await ar.rules.memberSet(owner.id)).id);
    const inputs = Array.from({ length: N }, (_, i) => ({
      name: i % 100 === 7 ? `Opening hours ${i}` : null,
      keywords: [{ text: `kw${i}` }, { text: `alt${i}`, match: 'contains' as const }],
      replies: [`reply number ${i}`],
    }));
    await ar.rules.importRules(setId, inputs, false);
    const session = await createAccountsService({ db: core.db, dialect: core.dialect, now: Date.now }).createSession(owner.id, 'autoreply');
    token = session.token;
    // The app reads through a Kysely instance that counts the rows each query returns.
    (core as { db: Core['db'] }).db = core.db.withPlugin(counting);
    app = await buildApp(core);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await core?.close();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  const list = async (qs: string) => {
    rows.n = 0;
    const res = await app.inject({ method: 'GET', url: `${P}/rules?${qs}`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(200);
    return {
      body: res.json() as { total: number; rules: { key: string; name: string | null; keywords: { text: string }[]; replies: string[] }[] },
      rows: rows.n,
    };
  };

  it(`a page of 20 of ${N} rules reads the page, not the set`, async () => {
    const p = await list('limit=20&offset=40');
    expect(p.body.total).toBe(N);
    expect(p.body.rules.map((r) => r.key)).toEqual(Array.from({ length: 20 }, (_, i) => String(41 + i).padStart(2, '0')));
    expect(p.body.rules[0]).toMatchObject({ keywords: [{ text: 'kw40' }, { text: 'alt40' }], replies: ['reply number 40'] });
    // Session and set lookups, the page's ids, the count, its keywords and replies: far from 3 x 3000.
    expect(p.rows).toBeLessThan(200);
  });

  it('a search runs in SQL over names, keywords and replies, with the total that match', async () => {
    const byName = await list('q=OPENING%20hours&limit=5');
    expect(byName.body.total).toBe(N / 100);
    expect(byName.body.rules.map((r) => r.name)).toEqual([
      'Opening hours 7',
      'Opening hours 107',
      'Opening hours 207',
      'Opening hours 307',
      'Opening hours 407',
    ]);
    expect(byName.rows).toBeLessThan(200);
    const byKeyword = await list('q=alt2999');
    expect(byKeyword.body.rules.map((r) => r.key)).toEqual(['3000']);
    const byReply = await list('q=reply%20number%2012&limit=3');
    expect(byReply.body.total).toBe(111); // 12, 120-129, 1200-1299
    // LIKE's own characters are searched as themselves.
    expect((await list('q=%25')).body.total).toBe(0);
    expect((await list('q=_')).body.total).toBe(0);
  });
});
