/**
 * The hotpaths bench's service (and optionally its floor), started and seeded as the bench does,
 * left running for profilers and counters (bench/README.md, "Hot paths, an eighth pass"). Writes
 * the request files and the Lua script to OUT (default /tmp/hot-serve) and prints the URLs and
 * pids. `kill -USR2 <driver pid>` writes a fresh webhook.tsv (the signatures' time ages); `kill -HUP
 * <driver pid>` starts and then stops a sampling heap profile of what outlives a scavenge.
 *
 *   OUT=/tmp/h8/a HOT_SERVE_NODE_ARGS='--perf-basic-prof' node --import tsx bench/tools/hot-serve.ts [floor]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getUserInfoLine, miniprogramGetLine, WRK_LUA, writeWebhookRequests } from '../hot-setup.js';

const out = process.env.OUT ?? '/tmp/hot-serve';
mkdirSync(out, { recursive: true });
const bench = fileURLToPath(new URL('../hotpaths.bench.ts', import.meta.url));

const nodeArgs = (process.env.HOT_SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);
const svc: ChildProcess = fork(bench, ['service'], {
  execArgv: [...nodeArgs, '--import', 'tsx'],
  stdio: ['ignore', openSync(join(out, 'access.log'), 'a'), openSync(join(out, 'service.err'), 'a'), 'ipc'],
  env: { ...process.env, LOG_FORMAT: '' },
});
const ready = await new Promise<any>((r) => svc.once('message', r));
const lines = [`SERVICE ${ready.url} PID ${svc.pid}`];
let flo: ChildProcess | undefined;
if (process.argv[2] === 'floor') {
  flo = fork(bench, ['floor'], { execArgv: [...nodeArgs, '--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  flo.send(ready);
  const url = await new Promise<string>((r) => flo!.once('message', (m: any) => r(m.url)));
  lines.push(`FLOOR ${url} PID ${flo.pid}`);
}
// The bench's Lua script and request files (the same shapes, the same shuffle-free order is fine).
writeFileSync(join(out, 'reqs.lua'), WRK_LUA);
writeFileSync(
  join(out, 'getUserInfo.tsv'),
  Array.from({ length: 20_000 }, (_, i) => getUserInfoLine((i * 7919) % 20_000)).join('\n') + '\n',
);
writeFileSync(join(out, 'get.tsv'), Array.from({ length: 100_000 }, (_, k) => miniprogramGetLine((k * 7919) % 100_000)).join('\n') + '\n');
const account = { appid: 'wxhotbenchplain01', token: ready.webhookToken, path: ready.webhookPath };
const msgIds = { last: 7_000_000_000_000_000_000n + BigInt(Date.now()) * 1000n };
const webhookFile = () => writeWebhookRequests(join(out, 'webhook.tsv'), account, 400_000, msgIds);
await webhookFile();
process.on('SIGUSR2', () => {
  void webhookFile().then(() => process.stdout.write('webhook.tsv renewed\n'));
});
// `kill -HUP <driver pid>`: starts, then (the second time) stops and writes OUT/heap-survivors.heapprofile,
// a sampling heap profile of the objects that outlived a scavenge (hotpaths.bench.ts).
let heapSampling = false;
process.on('SIGHUP', () => {
  heapSampling = !heapSampling;
  svc.send(heapSampling ? { heapStart: true } : { heapStop: join(out, 'heap-survivors.heapprofile') });
  process.stdout.write(heapSampling ? 'heap sampling\n' : 'heap profile written\n');
});
process.on('SIGTERM', () => {
  svc.send('stop');
  flo?.kill();
  process.exit(0);
});
process.stdout.write(lines.join('\n') + `\nDRIVER PID ${process.pid}\nREADY\n`);
