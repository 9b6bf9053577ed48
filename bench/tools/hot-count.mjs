// Sends N requests of a hot-serve request file (.tsv: method, path, content type, body) to a
// server over C keep-alive connections, one request at a time each; prints when done. Used to
// count instructions per answer under callgrind (bench/README.md, "Hot paths, an eighth pass").
//   node bench/tools/hot-count.mjs <base url> <file.tsv> <N> [C=8] [offset=0]
import http from 'node:http';
import { readFileSync } from 'node:fs';
const [base, file, n, c = '8', offset = '0'] = process.argv.slice(2);
const reqs = readFileSync(file, 'utf8')
  .trimEnd()
  .split('\n')
  .map((l) => l.split('\t'));
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(c) });
let next = Number(offset),
  left = Number(n),
  bad = 0;
const end = Number(offset) + Number(n);
function one() {
  if (next >= end) return Promise.resolve();
  const [method, path, type, body] = reqs[next++ % reqs.length];
  return new Promise((resolve, reject) => {
    const r = http.request(base + path, { method, agent, headers: type ? { 'content-type': type } : {} }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) bad++;
        left--;
        resolve();
      });
    });
    r.on('error', reject);
    r.end(body || undefined);
  }).then(one);
}
await Promise.all(Array.from({ length: Number(c) }, one));
agent.destroy();
console.log(`sent ${n}, non-200 ${bad}`);
