/**
 * The getUserInfo rung ladder (issue 15, bench/README.md "Hot paths, a sixth pass"): one server
 * per rung, each adding one of our pieces to a bare Fastify route, to find where the CPU per
 * answer goes. Not run by `npm run bench`: start rungs by hand on the data directory of a running
 * `hotpaths` bench service (/tmp/vh-hot-bench-*, 100,000 volunteers) and load each with wrk, or
 * run it under `valgrind --tool=callgrind --instr-atstart=no` and count instructions per request.
 *
 *   RUNG=0|1|2|3|4 DATA_DIR=<dir> [FLAGS=...] node --import tsx bench/hot-ladder.ts > access.log
 *   (prints "PORT <port> PID <pid>" on stderr)
 *
 * 0 bare Fastify answering the same bytes; 1 + our Fastify options (FLAGS picks them: `log` our
 * logger with the access log, `logonly` our logger without it, `id` request ids, `rewrite`,
 * `misc` trustProxy, body limit, zod compilers; `big` a 16 kB SonicBoom buffer; `noline` no
 * access line); 2 + the draining and origins hooks and the seed envelope's scope; 3 + the real
 * lookup in the handler (registerSeedLookupRoute); 4 the whole app (buildApp).
 */
import Fastify from 'fastify';
import { hotServiceEnv, ladderFastify, ladderHooks, likeServe, listenForLadder } from './hot-setup.js';

const RUNG = Number(process.env.RUNG);
const body =
  '{"code":0,"data":{"email":"volunteer1@example.org","name":"","Email":"volunteer1@example.org","Name":""},"message":"success"}';
await likeServe();
const { parseConfig } = await import('../src/config.js');
const env = hotServiceEnv(process.env.DATA_DIR!, { LOG_LEVEL: 'info', LOG_FORMAT: 'json' });
let app: any;
if (RUNG === 0) {
  app = Fastify();
  app.get('/api/getUserInfo', async (_req: any, reply: any) => reply.type('application/json; charset=utf-8').send(body));
} else if (RUNG >= 4) {
  const { buildApp, createAppCore } = await import('../src/app.js');
  const core = await createAppCore(parseConfig(env));
  app = await buildApp(core);
} else {
  const { createAppCore } = await import('../src/app.js');
  const config = parseConfig(env);
  const F0 = (process.env.FLAGS ?? '').split(',');
  const { pino } = await import('pino');
  const core = await createAppCore(
    config,
    F0.includes('big') ? { logger: pino({ level: 'info' }, pino.destination({ dest: 1, sync: false, minLength: 16000 })) } : {},
  );
  // Request ids as app.ts makes them (request-id.ts: a random per-process prefix and a counter).
  const { requestIds } = await import('../src/platform/http/request-id.js');
  app = await ladderFastify(core, (process.env.FLAGS ?? 'log,id,rewrite,misc').split(','), requestIds());
  if (RUNG === 1) {
    app.get('/api/getUserInfo', async (_req: any, reply: any) => reply.type('application/json; charset=utf-8').send(body));
  } else {
    const { useEnvelope } = await import('../src/platform/http/envelope.js');
    const { badInput } = await import('../src/modules/certificates/errors.js');
    const { createServices } = await import('../src/modules/certificates/services.js');
    const { registerSeedLookupRoute } = await import('../src/modules/certificates/routes-seed.js');
    await ladderHooks(app, config);
    const svc = createServices(core);
    await app.register(async (seed: any) => {
      useEnvelope(
        seed,
        (m) => badInput(m),
        ({ error }) => ({ status: 200, body: { code: 1, data: null, message: error.message } }),
      );
      if (RUNG === 2) {
        seed.get(
          '/api/getUserInfo',
          { schema: { response: {} }, validatorCompiler: () => (d: unknown) => ({ value: d }) },
          async (_req: any, reply: any) => reply.type('application/json; charset=utf-8').send(body),
        );
      } else registerSeedLookupRoute(seed, svc);
    });
  }
}
await listenForLadder(app);
