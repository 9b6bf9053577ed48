/** Each accounts mail, in Chinese and in English: what the member reads, and that input is escaped. */
import { describe, expect, it } from 'vitest';
import { activationMail, langFrom, passwordChangedMail, passwordResetMail, recoveryCodeMail } from './mail-templates.js';

const at = Date.UTC(2026, 10, 23, 2, 5, 0); // 10:05 in Beijing

describe('accounts mail templates', () => {
  it('picks the language from Accept-Language, Chinese by default', () => {
    expect(langFrom(undefined)).toBe('zh');
    expect(langFrom('zh-CN,zh;q=0.9,en;q=0.8')).toBe('zh');
    expect(langFrom('en-GB,en;q=0.9')).toBe('en');
    expect(langFrom('fr-FR')).toBe('zh');
  });

  it('activation: the link in text and html, 24 hours, in both languages', () => {
    const link = 'https://shop.example/accounts/active?code=abc_DEF-123';
    const zh = activationMail({ username: 'carol', link, lang: 'zh' });
    expect(zh.subject).toBe('激活您的账号');
    expect(zh.text).toContain(link);
    expect(zh.text).toContain('24 小时');
    expect(zh.html).toContain(`href="${link}"`);
    const en = activationMail({ username: 'carol', link, lang: 'en' });
    expect(en.subject).toBe('Activate your account');
    expect(en.text).toContain('within 24 hours');
    expect(en.html).toContain(`href="${link}"`);
  });

  it('recovery code: the code, 10 minutes, single use, in both languages', () => {
    const zh = recoveryCodeMail({ username: 'carol', code: '042917', lang: 'zh' });
    expect(zh.subject).toBe('找回密码验证码：042917');
    expect(zh.text).toContain('042917');
    expect(zh.text).toContain('10 分钟内有效');
    expect(zh.html).toContain('042917');
    const en = recoveryCodeMail({ username: 'carol', code: '042917', lang: 'en' });
    expect(en.subject).toBe('Your password recovery code: 042917');
    expect(en.text).toContain('valid for 10 minutes and can be used once');
  });

  it('password changed: when, in Beijing time, and what to do if it was not you', () => {
    const zh = passwordChangedMail({ username: 'carol', at, lang: 'zh' });
    expect(zh.subject).toBe('您的密码已修改');
    expect(zh.text).toContain('2026');
    expect(zh.text).toContain('10:05');
    expect(zh.text).toContain('忘记密码');
    const en = passwordChangedMail({ username: 'carol', at, lang: 'en' });
    expect(en.subject).toBe('Your password was changed');
    expect(en.text).toContain('10:05');
    expect(en.text).toContain('other sessions have been signed out');
  });

  it('password reset: every session signed out, in both languages', () => {
    const zh = passwordResetMail({ username: 'carol', at, lang: 'zh' });
    expect(zh.subject).toBe('您的密码已重设');
    expect(zh.text).toContain('所有登录均已退出');
    const en = passwordResetMail({ username: 'carol', at, lang: 'en' });
    expect(en.subject).toBe('Your password was reset');
    expect(en.text).toContain('Every session has been signed out');
  });

  it('escapes the username in html', () => {
    for (const lang of ['zh', 'en'] as const) {
      const evil = '<img src=x onerror=alert(1)>';
      for (const m of [
        activationMail({ username: evil, link: 'http://x/?a=1&b=2', lang }),
        recoveryCodeMail({ username: evil, code: '123456', lang }),
        passwordChangedMail({ username: evil, at, lang }),
        passwordResetMail({ username: evil, at, lang }),
      ]) {
        expect(m.html).not.toContain('<img');
        expect(m.html).toContain('&lt;img');
      }
    }
  });
});
