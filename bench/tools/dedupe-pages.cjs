// Issue 15, seventh pass (bench/README.md): the webhook's dedupe group commit on bare better-sqlite3.
// Schemas: A = before migration 4011 (AUTOINCREMENT id, unique pair, created_at index), E = after
// (rowid id, unique pair), B/C = WITHOUT ROWID keyed by the pair with/without a created_at index,
// D = rowid id with both indexes. Prints WAL frames per commit and CPU per message.
// usage: node bench/tools/dedupe-pages.cjs <A|B|C|D|E> <messages> <rows per commit> [rows held]
// callgrind: valgrind --tool=callgrind node --jitless bench/tools/dedupe-pages.cjs E 1000 10 20000
// (and 3000): (I(3000) - I(1000)) / 2000 instructions per message.
const Database = require('better-sqlite3');
const fs = require('fs');
const [schema, nStr, bStr, preStr] = process.argv.slice(2);
const N = Number(nStr),
  B = Number(bStr),
  PRE = Number(preStr ?? 60000);
const dir = fs.mkdtempSync(require('os').tmpdir() + '/vh-dedupe-');
const db = new Database(dir + '/t.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
if (schema === 'A') {
  db.exec(`CREATE TABLE ar_processed_messages (id integer primary key autoincrement, account_key varchar(80) not null, msg_key varchar(200) not null, answer text, created_at integer not null);
  CREATE UNIQUE INDEX ar_processed_unique ON ar_processed_messages (account_key, msg_key);
  CREATE INDEX ar_processed_created ON ar_processed_messages (created_at);`);
} else if (schema === 'D' || schema === 'E') {
  db.exec(
    `CREATE TABLE ar_processed_messages (id integer primary key, account_key varchar(80) not null, msg_key varchar(200) not null, answer text, created_at integer not null);
  CREATE UNIQUE INDEX ar_processed_unique ON ar_processed_messages (account_key, msg_key);` +
      (schema === 'D' ? `CREATE INDEX ar_processed_created ON ar_processed_messages (created_at);` : ''),
  );
} else {
  db.exec(
    `CREATE TABLE ar_processed_messages (account_key varchar(80) not null, msg_key varchar(200) not null, answer text, created_at integer not null, PRIMARY KEY (account_key, msg_key)) WITHOUT ROWID;` +
      (schema === 'B' ? `CREATE INDEX ar_processed_created ON ar_processed_messages (created_at);` : ''),
  );
}
db.exec(
  `CREATE TABLE ar_default_replies (account_id integer not null, openid varchar(64) not null, last_at integer not null, constraint ar_default_replies_pk primary key (account_id, openid))`,
);
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
const stmts = new Map();
const st = (n) => {
  let s = stmts.get(n);
  if (!s) {
    s = db.prepare(
      `insert into "ar_processed_messages" ("account_key", "msg_key", "answer", "created_at") values ${Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ')} on conflict ("account_key", "msg_key") do nothing returning "account_key", "msg_key"`,
    );
    stmts.set(n, s);
  }
  return s;
};
const fill = db.transaction(() => {
  for (let i = 0; i < PRE; i += 100) st(100).all(Array.from({ length: 100 }, msg).flat());
});
fill();
db.pragma('wal_checkpoint(TRUNCATE)');
const tx = db.transaction((rows) => st(rows.length).all(rows.flat()));
const walBefore = fs.statSync(dir + '/t.db-wal').size;
const c0 = process.cpuUsage();
const h0 = process.hrtime.bigint();
for (let i = 0; i < N; i += B) tx(Array.from({ length: B }, msg));
const c1 = process.cpuUsage(c0);
const h1 = process.hrtime.bigint();
const walAfter = fs.statSync(dir + '/t.db-wal').size;
const ps = db.pragma('page_size', { simple: true });
const frames = (walAfter - walBefore) / (ps + 24);
console.log(
  JSON.stringify({
    schema,
    N,
    B,
    pageSize: ps,
    framesPerCommit: +(frames / (N / B)).toFixed(2),
    framesPer1000: Math.round((frames / N) * 1000),
    cpuUsPerMsg: +((c1.user + c1.system) / N).toFixed(2),
    userUs: +(c1.user / N).toFixed(2),
    sysUs: +(c1.system / N).toFixed(2),
    wallUsPerMsg: +(Number(h1 - h0) / 1e3 / N).toFixed(2),
  }),
);
db.close();
fs.rmSync(dir, { recursive: true, force: true });
