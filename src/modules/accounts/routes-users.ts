/**
 * Routes of registration, activation, login/logout, password change and recovery (seed 003 plus
 * what it left out). Each handler parses, calls one use case, presents the seed's envelope.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from '../../platform/logger.js';
import { ACCOUNTS_BODY_LIMIT, bearer, requireSession } from './http.js';
import type { Flows } from './flows.js';
import type { Recovery } from './recovery.js';
import { langFrom } from './mail-templates.js';
import { C, fail } from './errors.js';
import * as s from './schemas.js';

const tags = ['accounts (seed 003)'];

export function registerUserRoutes(root: FastifyInstance, deps: { flows: Flows; recovery: Recovery; logger: Logger }): void {
  const app = root.withTypeProvider<ZodTypeProvider>();
  const { flows, recovery, logger } = deps;
  const accounts = flows.accounts;
  const bodyLimit = ACCOUNTS_BODY_LIMIT;
  /** Runs work after the answer has been sent, so its cost cannot be timed by the caller. */
  const later = (what: string, work: () => Promise<void>) =>
    setImmediate(() => void work().catch((err) => logger.error({ err }, `accounts: ${what} failed`)));

  app.post(
    '/v1/users',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'Register (added): account created inactive, activation mail sent, session token returned',
        body: s.registerBody,
        response: { 200: s.tokenAnswer },
      },
    },
    async (req) => {
      const r = await flows.register(req.body, req.ip, langFrom(req.headers['accept-language']));
      return { code: 200 as const, username: r.username, data: { token: r.token } };
    },
  );

  app.post(
    '/v1/users/activation/resend',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'A new activation mail (added): by session token, email or username; same answer whether or not the account exists',
        security: [{ session: [] }],
        body: s.resendBody,
        response: { 200: s.okText },
      },
    },
    async (req) => {
      const token = bearer(req);
      const session = token ? await accounts.resolveSession(token, 'web') : null;
      const target = session ? { userId: session.user.id } : { email: req.body?.email, username: req.body?.username };
      const key = session ? `user:${session.user.id}` : (req.body?.email ?? req.body?.username ?? '');
      if (!key) throw fail(C.INVALID_PARAMS, 'send the email (or username), or the session token');
      await flows.checkResend(key, req.ip);
      const lang = langFrom(req.headers['accept-language']);
      later('activation resend', () => flows.resendActivation(target, lang));
      return {
        code: 200 as const,
        data: '如果该账号存在且尚未激活，激活邮件已发送 / if the account exists and is not active, an activation mail has been sent',
      };
    },
  );

  app.get(
    '/v1/users/activation',
    {
      schema: {
        tags,
        summary:
          'Activate with the code from the activation link (single use, 24 hours); a link of an account already active answers code 200 with already_active: true (log in)',
        querystring: s.activationQuery,
        response: { 200: s.activationAnswer },
      },
    },
    async (req) => {
      if ((await flows.activate(req.query.code)) === 'already_active')
        return { code: 200 as const, data: '账号已激活，请直接登录', already_active: true as const };
      return { code: 200 as const, data: '激活成功' };
    },
  );

  app.post(
    '/v1/tokens',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'Log in (added) by username or email; throttled per account and per IP',
        body: s.loginBody,
        response: { 200: s.tokenAnswer },
      },
    },
    async (req) => {
      const login = req.body.username ?? req.body.email ?? '';
      const r = await flows.login({ login, password: req.body.password }, req.ip);
      return { code: 200 as const, username: r.username, data: { token: r.token } };
    },
  );

  app.delete(
    '/v1/tokens',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'Log out (added): revokes the session of the token sent',
        security: [{ session: [] }],
        response: { 200: s.okText },
      },
    },
    async (req) => {
      await requireSession(accounts, req, { allowInactive: true });
      await accounts.revokeSession(bearer(req)!);
      return { code: 200 as const, data: '已退出登录' };
    },
  );

  app.post(
    '/v1/users/:username/password',
    {
      bodyLimit,
      schema: {
        tags,
        summary:
          'Change password (needs the old one: `oldpassword`, or the seed example spelling `oldpasword`); other sessions are revoked, a notice is mailed',
        security: [{ session: [] }],
        params: s.userParams,
        body: s.changePasswordBody,
        response: { 200: s.okText },
      },
    },
    async (req) => {
      const session = await requireSession(accounts, req, { pathUser: req.params.username });
      const b = req.body;
      await flows.changePassword(
        session.user,
        session.sessionId,
        { oldpassword: (b.oldpassword ?? b.oldpasword)!, password1: b.password1, password2: b.password2 },
        langFrom(req.headers['accept-language']),
        req.ip,
      );
      return { code: 200 as const, data: '修改成功' };
    },
  );

  app.post(
    '/v1/users/password/sms',
    {
      bodyLimit,
      schema: {
        tags,
        summary: 'Recovery step 1: mail a 6-digit code (10 minutes); same answer and timing whether or not the address has an account',
        body: s.smsBody,
        response: { 200: s.okText },
      },
    },
    async (req) => {
      await recovery.checkSend(req.body.email, req.ip);
      const { email } = req.body;
      const lang = langFrom(req.headers['accept-language']);
      later('recovery code', () => recovery.sendCode(email, lang));
      return { code: 200 as const, data: '邮件发送成功' };
    },
  );

  for (const url of ['/v1/users/password/verification/', '/v1/users/password/verification']) {
    app.post(
      url,
      {
        bodyLimit,
        schema: {
          tags,
          summary: 'Recovery step 2: check the code (5 wrong tries and it is dead); answers a one-time reset ticket',
          body: s.verifyBody,
          response: { 200: s.ticketAnswer },
        },
      },
      async (req) => {
        const r = await recovery.verify(req.body.email, req.body.code, req.ip);
        return { code: 200 as const, data: '验证码通过', email: r.email, ticket: r.ticket };
      },
    );
  }

  app.post(
    '/v1/users/password/new',
    {
      bodyLimit,
      schema: {
        tags,
        summary:
          'Recovery step 3: new password; needs the ticket from step 2 (or the code itself), else 10112; revokes every session and mails a notice',
        body: s.newPasswordBody,
        response: { 200: s.okText },
      },
    },
    async (req) => {
      const { Password2, ...b } = req.body;
      await recovery.reset({ ...b, password2: (b.password2 ?? Password2)! }, req.ip, langFrom(req.headers['accept-language']));
      return { code: 200 as const, data: 'OK' };
    },
  );
}
