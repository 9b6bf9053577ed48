/**
 * getUserInfo's real work (the token's hash, the reader's lookup with the miss counter, the
 * hand-built answer, the access line through the service's own destination) answered by a bare
 * `node:http` server, with none of Fastify's pipeline or the app's hooks: the bound on what
 * answering the hot routes outside Fastify would buy (bench/README.md, "a fourteenth pass"). Not
 * the service: no security headers, origin checks, draining or error envelope. Run it beside
 * `bench/hot-ladder.ts`'s rungs 0 and 4 on the data directory of a running hotpaths service
 * (bench/tools/hot-serve.ts) and load each with wrk:
 *
 *   DATA_DIR=<dir> [NOLOG=1] node --max-semi-space-size=8 --import tsx bench/tools/hot-raw.ts > access.log
 *   (prints "PORT <port> PID <pid>" on stderr)
 */
import http from 'node:http';
import { hotServiceEnv, likeServe } from '../hot-setup.js';
await likeServe();
const { parseConfig } = await import('../../src/config.js');
const { createAppCore } = await import('../../src/app.js');
const { createServices } = await import('../../src/modules/certificates/services.js');
const { AccessLog, logUrl } = await import('../../src/platform/http/access-log.js');
const { requestIds } = await import('../../src/platform/http/request-id.js');
const env = hotServiceEnv(process.env.DATA_DIR!, { LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
const core = await createAppCore(parseConfig(env));
const svc = createServices(core);
const al: any = new AccessLog(core.logger);
const id = requestIds();
const srv = http.createServer(async (req, res) => {
  const t0 = performance.now();
  const u = req.url!;
  const q = u.indexOf('token=');
  const amp = u.indexOf('&', q);
  const token = decodeURIComponent(u.slice(q + 6, amp < 0 ? undefined : amp));
  let body: string;
  try {
    const hit = await svc.claims.lookup(token, req.socket.remoteAddress!);
    const e = JSON.stringify(hit.email);
    const n = JSON.stringify(hit.name ?? '');
    body = `{"code":0,"data":{"email":${e},"name":${n},"Email":${e},"Name":${n}},"message":"success"}`;
  } catch (err) {
    body = `{"code":2,"data":null,"message":"token invalid"}`;
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), vary: 'Origin' });
  res.end(body);
  if (process.env.NOLOG) return;
  al.stream.write(al.line(id(), req.method, logUrl(u), 200, Math.round((performance.now() - t0) * 100) / 100, true, true));
});
srv.listen(0, '127.0.0.1', () => console.error(`PORT ${(srv.address() as any).port} PID ${process.pid}`));
