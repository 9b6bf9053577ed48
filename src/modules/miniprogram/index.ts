/** The miniprogram module (seed 004): see README.md in this folder for its API and invariants. */
import type { Core } from '../../platform/core.js';
import type { AppModule } from '../../platform/http/module.js';
import { migrations } from './migrations.js';
import { jscode2session } from '../../platform/wechat/jscode2session.js';
import { createTimeFormatter } from './present.js';
import { createMiniprogramRepo } from './repo.js';
import { sqliteFast } from '../../platform/db/sqlite-fast.js';
import { registerMiniprogramRoutes } from './routes-seed.js';
import { createMiniprogramService } from './service.js';
import { createSessionService } from './sessions.js';
import { createAttemptLimiter } from '../../platform/limits/attempts.js';

/** Wires the module's repository, services and routes from the core. */
export function createMiniprogram(core: Core) {
  const mp = core.config.wechat.miniprogram;
  const repo = createMiniprogramRepo(core.db, sqliteFast(core.handle));
  const sessions = createSessionService({
    repo,
    secrets: core.secrets,
    logger: core.logger,
    now: core.now,
    app: mp.appid && mp.secret ? { appid: mp.appid, secret: mp.secret } : undefined,
    http: { apiBase: core.config.wechat.apiBase, timeoutMs: core.config.wechat.timeoutMs },
    code2session: jscode2session,
    limiter: createAttemptLimiter({ db: core.db, now: core.now }),
  });
  const service = createMiniprogramService({
    repo,
    sessions,
    now: core.now,
    formatTime: createTimeFormatter(core.config.timeZone),
    trustClientOpenid: mp.trustClientOpenid,
  });
  return { repo, sessions, service };
}

export const miniprogramModule: AppModule = {
  name: 'miniprogram',
  migrations,
  routeGroups: { token: ['/service/user/'] },
  async register(app, core) {
    const { service, sessions } = createMiniprogram(core);
    if (core.config.wechat.miniprogram.trustClientOpenid) {
      core.logger.warn(
        'MINIPROGRAM_TRUST_CLIENT_OPENID is on: /service/user/* believe any openid a client sends, so whoever learns an openid can read and change that profile. Use it only for legacy clients.',
      );
    } else if (!core.config.isMiniprogramConfigured) {
      core.logger.info(
        'miniprogram: WECHAT_MINIPROGRAM_APPID/SECRET are not set; /service/user/getOpenid answers -2 and no session can be opened',
      );
    }
    await registerMiniprogramRoutes(app, service, sessions);
  },
};
