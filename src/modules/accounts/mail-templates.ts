/**
 * The accounts module's mails, each one template in Chinese and English: activation link,
 * recovery code, "your password was changed", "your password was reset". Pure functions, so
 * each has its own test; `lang` comes from the request's Accept-Language (zh by default).
 */
import { escapeHtml as esc } from '../../platform/text/html.js';

export type Lang = 'zh' | 'en';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

/** zh unless the client prefers English (Accept-Language). */
export function langFrom(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'zh';
  const first = acceptLanguage.split(',')[0]?.trim().toLowerCase() ?? '';
  return first.startsWith('en') ? 'en' : 'zh';
}

function page(lines: string[]): string {
  return `<!doctype html><html><body style="font-family:sans-serif;line-height:1.5">${lines.map((l) => `<p>${l}</p>`).join('')}</body></html>`;
}

function when(at: number, lang: Lang): string {
  return (
    new Date(at).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: 'Asia/Shanghai', hour12: false }) +
    (lang === 'zh' ? '（北京时间）' : ' (China Standard Time)')
  );
}

/** The activation mail: a link to the web page that asks "activate / not now". */
export function activationMail(p: { username: string; link: string; lang: Lang }): RenderedMail {
  const u = esc(p.username);
  const link = esc(p.link);
  if (p.lang === 'en') {
    return {
      subject: 'Activate your account',
      text: `Hello ${p.username},\n\nOpen this link within 24 hours to activate your account:\n${p.link}\n\nIf you did not register, ignore this mail.`,
      html: page([
        `Hello ${u},`,
        `Open this link within 24 hours to activate your account:`,
        `<a href="${link}">${link}</a>`,
        'If you did not register, ignore this mail.',
      ]),
    };
  }
  return {
    subject: '激活您的账号',
    text: `${p.username}，您好：\n\n请在 24 小时内打开以下链接激活您的账号：\n${p.link}\n\n如果您没有注册，请忽略本邮件。`,
    html: page([
      `${u}，您好：`,
      '请在 24 小时内打开以下链接激活您的账号：',
      `<a href="${link}">${link}</a>`,
      '如果您没有注册，请忽略本邮件。',
    ]),
  };
}

/** The recovery code (6 digits, 10 minutes). */
export function recoveryCodeMail(p: { username: string; code: string; lang: Lang }): RenderedMail {
  const u = esc(p.username);
  if (p.lang === 'en') {
    return {
      subject: `Your password recovery code: ${p.code}`,
      text: `Hello ${p.username},\n\nYour code to set a new password is ${p.code}. It is valid for 10 minutes and can be used once.\n\nIf you did not ask for it, ignore this mail: your password has not changed.`,
      html: page([
        `Hello ${u},`,
        `Your code to set a new password is <b style="font-size:1.4em">${p.code}</b>.`,
        'It is valid for 10 minutes and can be used once.',
        'If you did not ask for it, ignore this mail: your password has not changed.',
      ]),
    };
  }
  return {
    subject: `找回密码验证码：${p.code}`,
    text: `${p.username}，您好：\n\n您设置新密码的验证码是 ${p.code}，10 分钟内有效，只能使用一次。\n\n如果不是您本人操作，请忽略本邮件，您的密码没有改变。`,
    html: page([
      `${u}，您好：`,
      `您设置新密码的验证码是 <b style="font-size:1.4em">${p.code}</b>。`,
      '10 分钟内有效，只能使用一次。',
      '如果不是您本人操作，请忽略本邮件，您的密码没有改变。',
    ]),
  };
}

/** Notice after a password change (logged in, with the old password). */
export function passwordChangedMail(p: { username: string; at: number; lang: Lang }): RenderedMail {
  const u = esc(p.username);
  const t = when(p.at, p.lang);
  if (p.lang === 'en') {
    return {
      subject: 'Your password was changed',
      text: `Hello ${p.username},\n\nThe password of your account was changed on ${t}. Your other sessions have been signed out.\n\nIf this was not you, reset your password now with "Forgot password".`,
      html: page([
        `Hello ${u},`,
        `The password of your account was changed on ${esc(t)}. Your other sessions have been signed out.`,
        'If this was not you, reset your password now with "Forgot password".',
      ]),
    };
  }
  return {
    subject: '您的密码已修改',
    text: `${p.username}，您好：\n\n您的账号密码已于 ${t} 修改，其他设备上的登录已退出。\n\n如果不是您本人操作，请立即通过"忘记密码"重设密码。`,
    html: page([
      `${u}，您好：`,
      `您的账号密码已于 ${esc(t)} 修改，其他设备上的登录已退出。`,
      '如果不是您本人操作，请立即通过"忘记密码"重设密码。',
    ]),
  };
}

/** Notice after a password reset by emailed code. */
export function passwordResetMail(p: { username: string; at: number; lang: Lang }): RenderedMail {
  const u = esc(p.username);
  const t = when(p.at, p.lang);
  if (p.lang === 'en') {
    return {
      subject: 'Your password was reset',
      text: `Hello ${p.username},\n\nThe password of your account was reset with a code sent to this address on ${t}. Every session has been signed out.\n\nIf this was not you, reset it again at once and check who can read this mailbox.`,
      html: page([
        `Hello ${u},`,
        `The password of your account was reset with a code sent to this address on ${esc(t)}. Every session has been signed out.`,
        'If this was not you, reset it again at once and check who can read this mailbox.',
      ]),
    };
  }
  return {
    subject: '您的密码已重设',
    text: `${p.username}，您好：\n\n您的账号密码已于 ${t} 通过发送到本邮箱的验证码重设，所有登录均已退出。\n\n如果不是您本人操作，请立即再次重设密码，并检查谁能读取此邮箱。`,
    html: page([
      `${u}，您好：`,
      `您的账号密码已于 ${esc(t)} 通过发送到本邮箱的验证码重设，所有登录均已退出。`,
      '如果不是您本人操作，请立即再次重设密码，并检查谁能读取此邮箱。',
    ]),
  };
}
