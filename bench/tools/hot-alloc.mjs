// Bytes allocated per answer, by allocating function (bench/README.md, "Hot paths, a ninth pass").
//
//   TARGET=bench/hot-ladder.ts HOT_ALLOC_OUT=/tmp/a.json RUNG=4 DATA_DIR=... \
//     node --import tsx bench/tools/hot-alloc.mjs      (then `kill -USR2 <pid>` to start sampling
//     and again to stop and write HOT_ALLOC_OUT: every object, those collected by scavenges too)
//   node bench/tools/hot-alloc.mjs report /tmp/a.json <answers sent while sampling> [rows=40]
import { readFileSync, writeFileSync } from 'node:fs';

if (process.argv[2] === 'report') {
  const [file, n, rows = '40'] = process.argv.slice(3);
  const { head } = JSON.parse(readFileSync(file, 'utf8'));
  const by = new Map();
  let total = 0;
  (function walk(node) {
    const f = node.callFrame;
    const name = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    if (node.selfSize) by.set(name, (by.get(name) ?? 0) + node.selfSize);
    total += node.selfSize ?? 0;
    for (const c of node.children ?? []) walk(c);
  })(head);
  console.log(`${Math.round(total / n)} bytes per answer`);
  for (const [name, b] of [...by].sort((a, b) => b[1] - a[1]).slice(0, Number(rows)))
    console.log(`${String(Math.round(b / n)).padStart(7)}  ${name}`);
} else {
  const inspector = await import('node:inspector/promises');
  const session = new inspector.Session();
  session.connect();
  let on = false;
  process.on('SIGUSR2', async () => {
    on = !on;
    if (on) {
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 128,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
    } else {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(process.env.HOT_ALLOC_OUT, JSON.stringify(profile));
    }
    process.stderr.write(on ? 'SAMPLING\n' : `WRITTEN ${process.env.HOT_ALLOC_OUT}\n`);
  });
  await import(new URL(process.env.TARGET, `file://${process.cwd()}/`).href);
}
