/**
 * Mail templates per campaign: subject and body with placeholders {{name}}, {{email}}, {{link}},
 * {{organization}}, {{website}}, {{number}}. Values are HTML-escaped when substituted into the
 * body; the subject is plain text (control characters removed).
 */

import { escapeHtml } from '../../platform/text/html.js';

export const DEFAULT_NOTICE_SUBJECT = '{{organization}}：请确认证书上的姓名 / Confirm the name for your certificate';
export const DEFAULT_NOTICE_BODY = `<p>{{name}}，你好！</p>
<p>感谢你参与 {{organization}} 的志愿工作。请打开下面的链接，确认证书上要印的姓名，证书随后会发到这个邮箱。</p>
<p>Thank you for volunteering with {{organization}}. Please open the link below to confirm the name to print on your certificate; it will then be mailed to this address.</p>
<p><a href="{{link}}">{{link}}</a></p>
<p>{{website}}</p>`;

export const CERTIFICATE_SUBJECT = '{{organization}}：你的志愿者证书 / Your volunteer certificate';
export const CERTIFICATE_BODY = `<p>{{name}}，你好！</p>
<p>你的志愿者证书在附件中。感谢你的付出！</p>
<p>Your volunteer certificate is attached. Thank you!</p>
<p>验证 / Verify: <a href="{{verify}}">{{verify}}</a></p>
<p>{{organization}} {{website}}</p>`;

export type Placeholders = Partial<Record<'name' | 'email' | 'link' | 'organization' | 'website' | 'number' | 'verify', string | null>>;

/** Substitutes placeholders; unknown ones stay as written. */
export function fill(template: string, values: Placeholders, escape: (s: string) => string): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, key: string) => {
    if (!(key in values)) return m;
    return escape(values[key as keyof Placeholders] ?? '');
  });
}

/** Renders subject, HTML and a plain-text alternative. */
export function renderMail(subject: string, body: string, values: Placeholders): { subject: string; html: string; text: string } {
  const s = fill(subject, values, (v) => v)
    // eslint-disable-next-line no-control-regex -- control characters are what this strips
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .slice(0, 500);
  const html = fill(body, values, escapeHtml);
  const text = fill(body, values, (v) => v)
    .replace(/<a [^>]*href="([^"]*)"[^>]*>.*?<\/a>/gi, '$1')
    .replace(/<br\s*\/?>|<\/p>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { subject: s, html, text };
}

export interface NoticeFrame {
  organization: string;
  link: string;
  website?: string | null;
  /** The one-click unsubscribe page (shown as a small footer link). */
  unsubscribeUrl?: string;
}

/**
 * Frames a rendered notice for the common clients (QQ Mail, 163, Gmail): a single-column table
 * with inline styles only (they drop <style> and block images by default), the organization's
 * name as text in the header and footer, and the link written out in full (a button alone is an
 * image-like thing some clients mangle). The text part gets the same: name first, the link on
 * its own line, the footer. Whatever the organizer's template says, both parts carry the link
 * and the organization.
 */
export function frameNotice(
  m: { subject: string; html: string; text: string },
  f: NoticeFrame,
): { subject: string; html: string; text: string } {
  const org = escapeHtml(f.organization);
  const link = escapeHtml(f.link);
  const site = f.website ? escapeHtml(f.website) : '';
  const linkShownInHtml = m.html.includes(`>${link}<`);
  const html = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"></head>
<body style="margin:0;padding:0;background:#f5f6f8;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f5f6f8;"><tr><td align="center" style="padding:16px 8px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;background:#ffffff;border:1px solid #e3e6ea;border-radius:6px;">
<tr><td style="padding:16px 24px;border-bottom:1px solid #e3e6ea;font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;font-size:18px;font-weight:bold;color:#1f2328;">${org}</td></tr>
<tr><td style="padding:16px 24px;font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;font-size:15px;line-height:1.7;color:#1f2328;">${m.html}
${linkShownInHtml ? '' : `<p style="margin:16px 0 0;word-break:break-all;"><a href="${link}" style="color:#0b57d0;">${link}</a></p>`}</td></tr>
<tr><td style="padding:12px 24px;border-top:1px solid #e3e6ea;font-family:Arial,sans-serif;font-size:12px;line-height:1.6;color:#57606a;">${org}${site ? ` · ${site}` : ''}<br>
如果链接无法点击，请复制到浏览器打开 / If the link does not open, copy it into your browser: <span style="word-break:break-all;">${link}</span>${
    f.unsubscribeUrl
      ? `<br><a href="${escapeHtml(f.unsubscribeUrl)}" style="color:#57606a;">不再接收本活动的通知 / Unsubscribe from this campaign's notices</a>`
      : ''
  }</td></tr>
</table></td></tr></table></body></html>`;
  const lines = [f.organization, '', m.text];
  if (!m.text.includes(f.link)) lines.push('', f.link);
  lines.push('', '--', `${f.organization}${f.website ? ` · ${f.website}` : ''}`);
  if (f.unsubscribeUrl) lines.push(`退订 / Unsubscribe: ${f.unsubscribeUrl}`);
  return { subject: m.subject, html, text: lines.join('\n') };
}
