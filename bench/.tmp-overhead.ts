import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
const mode = process.argv[2];
if (mode === 'serve') {
  const { parseConfig } = await import('../src/config.js');
  const { createCore } = await import('../src/platform/core.js');
  const { buildApp } = await import('../src/app.js');
  const Fastify = (await import('fastify')).default;
  const core = await createCore(parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'x-')), PORT: '0', LOG_LEVEL: process.env.LVL ?? 'info', ADMIN_TOKEN: 'xxxxxxxxxxxxxxxxxxxxxxxx' }));
  const app = await buildApp(core);
  const body = '{"code":0,"data":{"email":"a@b.c","name":"x"},"message":"success"}';
  app.get('/const', async (_q, r) => r.type('application/json; charset=utf-8').send(body));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const bare = Fastify();
  bare.get('/const', async (_q, r) => r.type('application/json; charset=utf-8').send(body));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  process.send!({ ours: (app.server.address() as any).port, bare: (bare.server.address() as any).port });
  process.on('message', (m) => { if (m === 'cpu') process.send!({ cpu: process.cpuUsage() }); if (m === 'stop') process.exit(0); });
} else {
  const { fork } = await import('node:child_process');
  const fd = openSync('/tmp/perfwork/ov.log', 'w');
  const c = fork(new URL(import.meta.url).pathname, ['serve'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', fd, 'inherit', 'ipc'] });
  const ports: any = await new Promise((r) => c.once('message', r));
  const cpu = () => new Promise<number>((r) => { c.once('message', (m: any) => r(m.cpu.user + m.cpu.system)); c.send('cpu'); });
  for (const round of [0, 1]) for (const k of ['bare', 'ours']) {
    const a = await cpu();
    const out = spawnSync('wrk', ['-t2', '-c32', '-d4s', `http://127.0.0.1:${ports[k]}/const`], { encoding: 'utf8' }).stdout;
    const n = Number(/(\d+) requests in/.exec(out)![1]);
    const b = await cpu();
    if (round) console.log(k, 'req/s', Math.round(n / 4), 'cpu us each', Math.round((b - a) / n));
  }
  c.send('stop');
}
