// Issue 15, seventh pass (bench/README.md): PostgreSQL WAL bytes per 1000 dedupe messages, the table
// before migration 4011 (A: bigserial id, unique pair, created_at index) and after (P: the pair
// as primary key, created_at index). TEST_PG_URL or the test database.
// usage: node bench/tools/dedupe-pages-pg.cjs <A|P> <messages> <rows per commit>
const { Client } = require('pg');
const [schema, nStr, bStr] = process.argv.slice(2);
const N = Number(nStr),
  B = Number(bStr);
(async () => {
  const c = new Client({ connectionString: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  await c.connect();
  const T = `hot7b_wal_${schema.toLowerCase()}`;
  await c.query(`DROP TABLE IF EXISTS ${T}`);
  if (schema === 'A') {
    await c.query(
      `CREATE TABLE ${T} (id bigserial primary key, account_key varchar(80) not null, msg_key varchar(200) not null, answer text, created_at bigint not null)`,
    );
    await c.query(`CREATE UNIQUE INDEX ${T}_u ON ${T} (account_key, msg_key)`);
  } else {
    await c.query(
      `CREATE TABLE ${T} (account_key varchar(80) not null, msg_key varchar(200) not null, answer text, created_at bigint not null, primary key (account_key, msg_key))`,
    );
  }
  await c.query(`CREATE INDEX ${T}_c ON ${T} (created_at)`);
  let seq = 0,
    t = 1796300000000;
  const answer = JSON.stringify({ t: 1796307890, replies: [{ kind: 'text', text: '十元，欢迎再来' }] });
  const msg = () => {
    seq++;
    return [
      'a' + (1 + (seq % 7)),
      'm:' + String(7000000000000000000n + BigInt(Math.floor(Math.random() * 1e15)) * 1000n + BigInt(seq % 1000)),
      answer,
      t++,
    ];
  };
  const ins = (n) =>
    `insert into ${T} (account_key, msg_key, answer, created_at) values ${Array.from({ length: n }, (_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ')} on conflict (account_key, msg_key) do nothing returning account_key, msg_key`;
  for (let i = 0; i < 60000; i += 1000) await c.query(ins(1000), Array.from({ length: 1000 }, msg).flat());
  await c.query('CHECKPOINT').catch(() => {});
  const lsn = async () => (await c.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l;
  const l0 = await lsn();
  const h0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += B) {
    await c.query('BEGIN');
    await c.query({ name: 'ins' + B, text: ins(B), values: Array.from({ length: B }, msg).flat() });
    await c.query('COMMIT');
  }
  const h1 = process.hrtime.bigint();
  const l1 = await lsn();
  const bytes = Number((await c.query(`SELECT pg_wal_lsn_diff($1, $2) AS d`, [l1, l0])).rows[0].d);
  const size = (await c.query(`SELECT pg_total_relation_size('${T}') AS s`)).rows[0].s;
  console.log(
    JSON.stringify({
      schema,
      N,
      B,
      walBytesPer1000: Math.round((bytes / N) * 1000),
      wallUsPerMsg: Math.round(Number(h1 - h0) / 1e3 / N),
      relationBytes: Number(size),
    }),
  );
  await c.query(`DROP TABLE ${T}`);
  await c.end();
})();
