/**
 * One zod schema over the environment, parsed once and frozen. Every variable here is documented
 * in the README's configuration table; `loadConfig` exits with a clear message on bad values.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const optionalInt = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a non-negative integer' });
      return z.NEVER;
    }
    return n;
  });

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined))
  .pipe(z.url().optional());

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

/** Names proxy-addr (behind Fastify's trustProxy) knows for address ranges. */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY takes what Fastify's `trustProxy` takes: `true` (every hop: only when the proxy
 * strips the client's own X-Forwarded-For), `false`/empty (no proxy), a hop count (`1` = one proxy
 * in front), or a comma-separated list of proxy addresses, CIDRs and proxy-addr's range names
 * (`127.0.0.1`, `10.0.0.0/8`, `loopback`).
 */
const trustProxy = z
  .string()
  .optional()
  .transform((raw, ctx): boolean | number | string[] => {
    const v = (raw ?? '').trim();
    if (v === '' || v === 'false' || v === 'no') return false;
    if (v === 'true' || v === 'yes') return true;
    if (/^\d+$/.test(v)) return Number(v);
    const items = v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const bad = items.filter((x) => {
      if (PROXY_RANGE_NAMES.has(x) || isIP(x)) return false;
      const m = /^(.+)\/(\d{1,3})$/.exec(x);
      return !(m && isIP(m[1]) && Number(m[2]) <= (isIP(m[1]) === 4 ? 32 : 128));
    });
    if (bad.length || !items.length) {
      ctx.addIssue({
        code: 'custom',
        message: `expected true, false, a hop count, or proxy addresses/CIDRs separated by commas; not understood: ${bad.join(', ') || v}`,
      });
      return z.NEVER;
    }
    return items;
  });

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  DATABASE_URL: optionalString,
  PUBLIC_URL: optionalUrl,
  ADMIN_TOKEN: optionalString,
  SMTP_URL: optionalString,
  METRICS_TOKEN: optionalString,
  MAIL_FROM: optionalString,
  MAIL_RATE_PER_SEC: optionalInt,
  MAIL_DAILY_LIMIT: optionalInt,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z.enum(['auto', 'pretty', 'json']).default('auto'),
  ),
  SECRET_KEY: optionalString,
  TIME_ZONE: z.string().default('Asia/Shanghai'),
  TRUST_PROXY: trustProxy,
  WECHAT_API_BASE: z.url().default('https://api.weixin.qq.com'),
  WECHAT_API_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(3000),
  WECHAT_MINIPROGRAM_APPID: optionalString,
  WECHAT_MINIPROGRAM_SECRET: optionalString,
  MINIPROGRAM_TRUST_CLIENT_OPENID: bool,
  WECHAT_MP_APPID: optionalString,
  WECHAT_MP_SECRET: optionalString,
  WECHAT_MP_TOKEN: optionalString,
  WECHAT_MP_AES_KEY: optionalString,
  WECHAT_MP_NAME: optionalString,
  WECHAT_MP_WECHAT_ID: optionalString,
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  JOB_LEASE_MS: z.coerce.number().int().min(500).max(600_000).default(5000),
  MAIL_RETRY_MS: z.coerce.number().int().min(10).max(3_600_000).default(1000),
  MAIL_RETRY_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(900_000),
  MAIL_RETRY_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  MAIL_PROBE_MAX_MS: z.coerce.number().int().min(10).max(86_400_000).default(300_000),
  CORS_ORIGINS: optionalString,
  DKIM_DOMAIN: optionalString,
  DKIM_SELECTOR: optionalString,
  DKIM_PRIVATE_KEY: optionalString,
  BOUNCE_IMAP_URL: optionalString,
  BOUNCE_POLL_SECONDS: z.coerce.number().int().min(0).max(86400).default(300),
  DNS_SERVERS: optionalString,
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(25_000),
  AUTOREPLY_MAX_ACCOUNTS: z.coerce.number().int().min(1).max(10_000).default(10),
  AUTOREPLY_MAX_RULES: z.coerce.number().int().min(1).max(1_000_000).default(20_000),
  AUTOREPLY_MAX_RULE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1_073_741_824)
    .default(16 * 1024 * 1024),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `sqlite` unless DATABASE_URL is a postgres URL. */
  database: { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };
  publicUrl: string;
  adminToken?: string;
  /** Bearer token for /metrics; without it /metrics answers direct loopback clients only. */
  metricsToken?: string;
  smtpUrl?: string;
  mailFrom?: string;
  mailRatePerSec?: number;
  mailDailyLimit?: number;
  logLevel: string;
  /** `auto`: pretty lines when stdout is a terminal, JSON lines otherwise. */
  logFormat: 'auto' | 'pretty' | 'json';
  secretKey?: string;
  timeZone: string;
  /** Fastify's `trustProxy`: whom to believe about X-Forwarded-For (see the README). */
  trustProxy: boolean | number | string[];
  wechat: {
    apiBase: string;
    timeoutMs: number;
    miniprogram: { appid?: string; secret?: string; trustClientOpenid: boolean };
    /** `name` and `wechatId` (微信号): shown on the pages so people on a phone can find the account. */
    mp: { appid?: string; secret?: string; token?: string; aesKey?: string; name?: string; wechatId?: string };
  };
  jobConcurrency: number;
  /** JOB_LEASE_MS: a running job's lease (renewed every third of it); a dead instance's job is taken up after it. */
  jobLeaseMs: number;
  /**
   * Mail retry timings: a recipient-level temporary failure (4xx) is retried after MAIL_RETRY_MS,
   * doubling up to MAIL_RETRY_MAX_MS, MAIL_RETRY_ATTEMPTS times in all; an SMTP server out of
   * reach pauses a campaign and is probed after MAIL_RETRY_MS, doubling up to MAIL_PROBE_MAX_MS.
   */
  mailRetry: { firstMs: number; maxMs: number; attempts: number; probeMaxMs: number };
  /**
   * CORS_ORIGINS: origins (`scheme://host[:port]`, as a browser sends them) allowed to call the
   * cookie-session routes with credentials; when not empty they also narrow the token APIs,
   * unless the list holds `*` (token APIs stay open to any origin). Empty: token APIs answer any
   * origin, cookie-session routes none.
   */
  corsOrigins: string[];
  /** On SIGTERM/SIGINT: how long in-flight requests and jobs may take to finish before they are cut. */
  shutdownGraceMs: number;
  /**
   * DKIM signing key for one sender domain from the environment (DKIM_DOMAIN, DKIM_SELECTOR,
   * DKIM_PRIVATE_KEY as PEM, `\n` allowed for line breaks); more domains are set in the console.
   */
  dkim?: { domain: string; selector: string; privateKey: string };
  /** BOUNCE_IMAP_URL: the default bounce mailbox (`imaps://user:pass@host:993/INBOX`); a campaign may set its own. */
  bounceImapUrl?: string;
  /** How often bounce mailboxes are read (seconds; 0 = only when asked from the console). */
  bouncePollSeconds: number;
  /** DNS_SERVERS: resolvers for the console's DKIM record check (default: the system's). */
  dnsServers: string[];
  /**
   * What one assistant member may store (issue 10 item 8): connected official accounts, rules over
   * all their rule sets, and those rules' size in UTF-8 bytes (names, keywords, replies).
   */
  autoreply: { maxAccounts: number; maxRules: number; maxRuleBytes: number };
  /** Derived: outgoing mail goes to SMTP; otherwise to the dev mailbox. */
  isSmtpConfigured: boolean;
  isMiniprogramConfigured: boolean;
  isMpConfigured: boolean;
}

export class ConfigError extends Error {}

/** Parses an environment (process.env by default) into a frozen Config. Throws ConfigError. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = resolve(e.DATA_DIR);
  let database: Config['database'];
  if (e.DATABASE_URL && /^postgres(ql)?:\/\//.test(e.DATABASE_URL)) {
    database = { dialect: 'postgres', url: e.DATABASE_URL };
  } else if (e.DATABASE_URL && !/^(sqlite:|file:)/.test(e.DATABASE_URL) && e.DATABASE_URL.includes('://')) {
    throw new ConfigError('Invalid configuration:\n  DATABASE_URL: only postgres:// URLs or a SQLite file path are supported');
  } else {
    const file = e.DATABASE_URL ? e.DATABASE_URL.replace(/^(sqlite|file):(\/\/)?/, '') : resolve(dataDir, 'volunteer-hub.sqlite');
    database = { dialect: 'sqlite', file };
  }
  if (e.METRICS_TOKEN !== undefined && !/^[\x21-\x7e]{16,200}$/.test(e.METRICS_TOKEN)) {
    throw new ConfigError(
      'Invalid configuration:\n  METRICS_TOKEN: must be 16 to 200 printable characters without spaces (e.g. `openssl rand -hex 24`)',
    );
  }
  if (e.SMTP_URL && !/^smtps?:\/\//.test(e.SMTP_URL)) {
    throw new ConfigError('Invalid configuration:\n  SMTP_URL: must start with smtp:// or smtps://');
  }
  if (e.WECHAT_MP_AES_KEY && !/^[A-Za-z0-9]{43}$/.test(e.WECHAT_MP_AES_KEY)) {
    throw new ConfigError('Invalid configuration:\n  WECHAT_MP_AES_KEY: must be the 43-character EncodingAESKey');
  }
  const corsOrigins = parseOrigins(e.CORS_ORIGINS);
  if ((e.DKIM_DOMAIN || e.DKIM_SELECTOR || e.DKIM_PRIVATE_KEY) && !(e.DKIM_DOMAIN && e.DKIM_SELECTOR && e.DKIM_PRIVATE_KEY)) {
    throw new ConfigError('Invalid configuration:\n  DKIM_DOMAIN, DKIM_SELECTOR, DKIM_PRIVATE_KEY: set all three or none');
  }
  const dkimKey = e.DKIM_PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (dkimKey && !/-----BEGIN (RSA )?PRIVATE KEY-----/.test(dkimKey)) {
    throw new ConfigError('Invalid configuration:\n  DKIM_PRIVATE_KEY: expected a PEM private key (-----BEGIN PRIVATE KEY-----)');
  }
  if (e.BOUNCE_IMAP_URL && !/^imaps?:\/\//.test(e.BOUNCE_IMAP_URL)) {
    throw new ConfigError('Invalid configuration:\n  BOUNCE_IMAP_URL: must start with imap:// or imaps://');
  }
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    database,
    publicUrl,
    adminToken: e.ADMIN_TOKEN,
    metricsToken: e.METRICS_TOKEN,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    mailRatePerSec: e.MAIL_RATE_PER_SEC || undefined,
    mailDailyLimit: e.MAIL_DAILY_LIMIT || undefined,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    secretKey: e.SECRET_KEY,
    timeZone: e.TIME_ZONE,
    trustProxy: e.TRUST_PROXY,
    wechat: {
      apiBase: e.WECHAT_API_BASE.replace(/\/+$/, ''),
      timeoutMs: e.WECHAT_API_TIMEOUT_MS,
      miniprogram: {
        appid: e.WECHAT_MINIPROGRAM_APPID,
        secret: e.WECHAT_MINIPROGRAM_SECRET,
        trustClientOpenid: e.MINIPROGRAM_TRUST_CLIENT_OPENID,
      },
      mp: {
        appid: e.WECHAT_MP_APPID,
        secret: e.WECHAT_MP_SECRET,
        token: e.WECHAT_MP_TOKEN,
        aesKey: e.WECHAT_MP_AES_KEY,
        name: e.WECHAT_MP_NAME,
        wechatId: e.WECHAT_MP_WECHAT_ID,
      },
    },
    jobConcurrency: e.JOB_CONCURRENCY,
    jobLeaseMs: e.JOB_LEASE_MS,
    mailRetry: { firstMs: e.MAIL_RETRY_MS, maxMs: e.MAIL_RETRY_MAX_MS, attempts: e.MAIL_RETRY_ATTEMPTS, probeMaxMs: e.MAIL_PROBE_MAX_MS },
    corsOrigins,
    dkim:
      e.DKIM_DOMAIN && e.DKIM_SELECTOR && dkimKey
        ? { domain: e.DKIM_DOMAIN.toLowerCase(), selector: e.DKIM_SELECTOR, privateKey: dkimKey }
        : undefined,
    bounceImapUrl: e.BOUNCE_IMAP_URL,
    bouncePollSeconds: e.BOUNCE_POLL_SECONDS,
    dnsServers: (e.DNS_SERVERS ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    autoreply: { maxAccounts: e.AUTOREPLY_MAX_ACCOUNTS, maxRules: e.AUTOREPLY_MAX_RULES, maxRuleBytes: e.AUTOREPLY_MAX_RULE_BYTES },
    isSmtpConfigured: Boolean(e.SMTP_URL),
    isMiniprogramConfigured: Boolean(e.WECHAT_MINIPROGRAM_APPID && e.WECHAT_MINIPROGRAM_SECRET),
    isMpConfigured: Boolean(e.WECHAT_MP_APPID && e.WECHAT_MP_SECRET && e.WECHAT_MP_TOKEN),
  };
  return deepFreeze(config);
}

/**
 * CORS_ORIGINS: comma-separated origins or `*`. Each is normalised to what a browser sends in
 * `Origin` (lower-case scheme and host, no default port, no trailing slash); anything with a path,
 * query, credentials or a wildcard host is refused, so a typo never silently allows nothing (or
 * everything).
 */
function parseOrigins(raw: string | undefined): string[] {
  if (!raw) return [];
  const out: string[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (item === '*') {
      if (!out.includes('*')) out.push('*');
      continue;
    }
    let u: URL | undefined;
    try {
      u = new URL(item);
    } catch {
      u = undefined;
    }
    const bad =
      !u ||
      !/^https?:$/.test(u.protocol) ||
      u.username ||
      u.password ||
      u.search ||
      u.hash ||
      (u.pathname !== '/' && u.pathname !== '') ||
      u.hostname.includes('*');
    if (bad) {
      throw new ConfigError(
        `Invalid configuration:\n  CORS_ORIGINS: "${item}" is not an origin; write scheme://host[:port] (e.g. https://volunteers.example.org), comma-separated, or * for "token APIs open to any origin"`,
      );
    }
    if (!out.includes(u!.origin)) out.push(u!.origin);
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
