// Issue 15, eleventh pass (bench/README.md): the webhook's dedupe group commit with default-reply
// marks on bare better-sqlite3. Schemas of `ar_default_replies`: R = before migration 4012 (a rowid
// table and its primary-key index), W = after (`WITHOUT ROWID` keyed by account and follower).
// Each commit: B dedupe rows (the table after 4011, sequential MsgIds as WeChat's grow) and, for
// M of them, the read of the follower's last default reply and the upsert of its time (random
// followers out of F). Prints WAL frames per commit and CPU per message.
// usage: node bench/tools/default-replies-pages.cjs <R|W> <messages> <rows per commit> <marks per commit> [followers held=100000] [new=0|1]
// callgrind: valgrind --tool=callgrind node --jitless bench/tools/default-replies-pages.cjs W 1000 10 2
// (and 3000): (I(3000) - I(1000)) / 2000 instructions per message.
const Database = require('better-sqlite3');
const fs = require('fs');
const [schema, nStr, bStr, mStr, fStr, newStr] = process.argv.slice(2);
const N = Number(nStr),
  B = Number(bStr),
  M = Number(mStr),
  F = Number(fStr ?? 100000),
  // 1: each mark is a follower not in the table yet (an insert), 0: one held (an update).
  NEW = newStr === '1';
const dir = fs.mkdtempSync(require('os').tmpdir() + '/vh-defaults-');
const db = new Database(dir + '/t.db');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
db.exec(`CREATE TABLE ar_processed_messages (id integer primary key, account_key varchar(80) not null, msg_key varchar(200) not null, answer text, created_at integer not null);
  CREATE UNIQUE INDEX ar_processed_unique ON ar_processed_messages (account_key, msg_key);`);
db.exec(
  schema === 'W'
    ? `CREATE TABLE ar_default_replies (account_id integer not null, openid varchar(64) not null, last_at integer not null, constraint ar_default_replies_pk primary key (account_id, openid)) WITHOUT ROWID`
    : `CREATE TABLE ar_default_replies (account_id integer not null, openid varchar(64) not null, last_at integer not null, constraint ar_default_replies_pk primary key (account_id, openid))`,
);
let seq = 0,
  t = 1796300000000;
const answer = JSON.stringify({ t: 1796307890, replies: [{ type: 'text', text: '回复 996：感谢您的留言，我们会尽快处理。' }] });
const msg = () => {
  seq++;
  return ['a1', 'm:' + String(7001796421433733001n + BigInt(seq)), answer, t++];
};
// A follower's openid, as WeChat's: 28 characters.
const openid = (i) => 'oFollower' + String(i).padStart(19, '0');
const st = (n) =>
  db.prepare(
    `insert into "ar_processed_messages" ("account_key", "msg_key", "answer", "created_at") values ${Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ')} on conflict ("account_key", "msg_key") do nothing returning "account_key", "msg_key"`,
  );
const claim = st(B);
const read = db.prepare(`select "last_at" from "ar_default_replies" where "account_id" = ? and "openid" = ?`);
const mark = db.prepare(
  `insert into "ar_default_replies" ("account_id", "openid", "last_at") values (?, ?, ?) on conflict ("account_id", "openid") do update set "last_at" = "excluded"."last_at"`,
);
db.transaction(() => {
  for (let i = 0; i < F; i++) mark.run(1, openid(i), t - 7200_000);
  for (let i = 0; i < 60000; i += B) claim.all(Array.from({ length: B }, msg).flat());
})();
db.pragma('wal_checkpoint(TRUNCATE)');
const tx = db.transaction((rows, who) => {
  claim.all(rows.flat());
  for (const o of who) mark.run(1, o, t);
});
const walBefore = fs.statSync(dir + '/t.db-wal').size;
const c0 = process.cpuUsage();
for (let i = 0; i < N; i += B) {
  const who = Array.from({ length: M }, () =>
    openid(Math.floor(Math.random() * F) + (NEW ? F : 0) * (1 + Math.floor(Math.random() * 1000))),
  );
  for (const o of who) read.get(1, o);
  tx(Array.from({ length: B }, msg), who);
}
const c1 = process.cpuUsage(c0);
const walAfter = fs.statSync(dir + '/t.db-wal').size;
const frames = (walAfter - walBefore) / (db.pragma('page_size', { simple: true }) + 24);
console.log(
  JSON.stringify({
    schema,
    N,
    B,
    M,
    NEW,
    framesPerCommit: +(frames / (N / B)).toFixed(2),
    cpuUsPerMsg: +((c1.user + c1.system) / N).toFixed(2),
    userUs: +(c1.user / N).toFixed(2),
    sysUs: +(c1.system / N).toFixed(2),
  }),
);
db.close();
fs.rmSync(dir, { recursive: true, force: true });
