/**
 * The hotpaths bench's service (and optionally its floor), started and seeded as the bench does,
 * left running for profilers and counters (bench/README.md, "Hot paths, an eighth pass"). Writes
 * the request files and the Lua script to OUT (default /tmp/hot-serve) and prints the URLs and
 * pids. `kill -USR2 <driver pid>` writes a fresh webhook.tsv (the signatures' time ages).
 *
 *   OUT=/tmp/h8/a HOT_SERVE_NODE_ARGS='--perf-basic-prof' node --import tsx bench/tools/hot-serve.ts [floor]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = process.env.OUT ?? '/tmp/hot-serve';
mkdirSync(out, { recursive: true });
const bench = fileURLToPath(new URL('../hotpaths.bench.ts', import.meta.url));
const tokenOf = (kind: string, i: number) => createHash('sha256').update(`hot-bench-${kind}-${i}`).digest('base64url');
const openidOf = (i: number) => `oBench${String(i).padStart(22, '0')}`;
const id5 = (i: number) => String(i).padStart(5, '0');

const nodeArgs = (process.env.HOT_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const svc: ChildProcess = fork(bench, ['service'], {
  execArgv: [...nodeArgs, '--import', 'tsx'],
  stdio: ['ignore', openSync(join(out, 'access.log'), 'a'), openSync(join(out, 'service.err'), 'a'), 'ipc'],
  env: { ...process.env, LOG_FORMAT: '' },
});
const ready = await new Promise<any>((r) => svc.once('message', r));
const lines = [`SERVICE ${ready.url} PID ${svc.pid}`];
if (process.argv[2] === 'floor') {
  const flo = fork(bench, ['floor'], { execArgv: [...nodeArgs, '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  flo.send(ready);
  const url = await new Promise<string>((r) => flo.once('message', (m: any) => r(m.url)));
  lines.push(`FLOOR ${url} PID ${flo.pid}`);
}
// The bench's Lua script and request files (the same shapes, the same shuffle-free order is fine).
const src = readFileSync(bench, 'utf8');
writeFileSync(join(out, 'reqs.lua'), eval('`' + /const LUA = `([\s\S]*?)`;/.exec(src)![1] + '`'));
writeFileSync(
  join(out, 'getUserInfo.tsv'),
  Array.from({ length: 20_000 }, (_, i) => `GET\t/api/getUserInfo?token=${tokenOf('cert', (i * 7919) % 20_000)}\t\t`).join('\n') + '\n',
);
writeFileSync(
  join(out, 'get.tsv'),
  Array.from({ length: 100_000 }, (_, k) => {
    const i = (k * 7919) % 100_000;
    return `POST\t/service/user/get\tapplication/json\t${JSON.stringify({ openid: openidOf(i), token: tokenOf('mp', i) })}`;
  }).join('\n') + '\n',
);
const { buildInbound } = await import('../../src/platform/wechat/callback.js');
let msgId = 7_000_000_000_000_000_000n + BigInt(Date.now()) * 1000n;
function webhookFile(n: number): void {
  const now = Date.now();
  const rows: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = Math.random();
    const i = Math.floor(Math.random() * 1000);
    const text =
      r < 0.5
        ? `kw${id5(i)}`
        : r < 0.8
          ? `您好，请问 词${id5(i - (i % 3))}号 的情况怎么样了？`
          : `随便聊聊 ${Math.floor(Math.random() * 1e6)}`;
    const fields = {
      ToUserName: 'gh_bench',
      FromUserName: `oFollower${Math.floor(Math.random() * 10_000)}`,
      CreateTime: Math.floor(now / 1000),
      MsgType: 'text',
      Content: text,
      MsgId: String(++msgId),
    };
    const { query, body } = buildInbound({ appid: 'wxhotbenchplain01', token: ready.webhookToken }, fields, now, false);
    rows.push(`POST\t${ready.webhookPath}?${new URLSearchParams(query)}\ttext/xml\t${body.replace(/[\t\n]/g, ' ')}`);
  }
  writeFileSync(join(out, 'webhook.tsv'), rows.join('\n') + '\n');
}
webhookFile(400_000);
process.on('SIGUSR2', () => {
  webhookFile(400_000);
  process.stdout.write('webhook.tsv renewed\n');
});
process.on('SIGTERM', () => {
  svc.send('stop');
  process.exit(0);
});
process.stdout.write(lines.join('\n') + `\nDRIVER PID ${process.pid}\nREADY\n`);
