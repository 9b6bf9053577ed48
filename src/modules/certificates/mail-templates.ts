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
  // eslint-disable-next-line no-control-regex
  const s = fill(subject, values, (v) => v).replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 500);
  const html = fill(body, values, escapeHtml);
  const text = fill(body, values, (v) => v)
    .replace(/<a [^>]*href="([^"]*)"[^>]*>.*?<\/a>/gi, '$1')
    .replace(/<br\s*\/?>|<\/p>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { subject: s, html, text };
}
