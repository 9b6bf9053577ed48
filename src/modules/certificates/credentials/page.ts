/**
 * The public credential page /verify/<id>: server-rendered HTML (no framework bundle), phone
 * first, Chinese or English (Accept-Language, or ?lang=), with the certificate image, the issuer,
 * who and when, the status (valid, or revoked on a date with the reason), downloads, "Add to
 * LinkedIn", copy/share, and WeChat/Open Graph card metadata. Every value is HTML-escaped.
 */
import { escapeHtml as esc } from '../../../platform/text/html.js';
import { PAGE_ASSETS } from './page-assets.js';
import { websiteUrl } from './vc.js';

export type Lang = 'zh' | 'en';

const T = {
  zh: {
    verified: '证书有效',
    verifiedNote: '这份证书由签发方签名，信息与签发时一致。',
    revoked: (d: string, r: string) => `已于 ${d} 撤销：${r}`,
    superseded: '这份证书已被更正后的新证书取代。',
    seeNew: '查看新证书',
    awardedTo: '获得者',
    number: '证书编号',
    campaign: '活动',
    issuer: '颁发单位',
    issued: '颁发日期',
    certId: '证书 ID',
    png: '下载图片 (PNG)',
    pdf: '下载 PDF',
    linkedin: '添加到领英 (LinkedIn) 档案',
    copy: '复制链接',
    copied: '链接已复制',
    share: '分享',
    shareLabel: '证书链接',
    machine: '机器可验证的凭证（Open Badges 3.0）：',
    json: 'JSON-LD',
    jwt: '签名 (VC-JWT)',
    keys: '公钥',
    image: (n: string) => `${n} 的证书`,
    title: (n: string, c: string) => `${n} · ${c}`,
    desc: (o: string, c: string, n: string) => `${o} 为 ${n} 颁发的志愿者证书：${c}`,
    notFound: '未找到证书',
    notFoundText: (id: string) => `没有 ID 为 ${id} 的证书。请检查链接或二维码是否完整。`,
    footer: '由 volunteer-hub 签发与验证',
  },
  en: {
    verified: 'Valid certificate',
    verifiedNote: 'Signed by its issuer; the details are as issued.',
    revoked: (d: string, r: string) => `Revoked on ${d}: ${r}`,
    superseded: 'This certificate was replaced by a corrected one.',
    seeNew: 'See the new certificate',
    awardedTo: 'Awarded to',
    number: 'Certificate number',
    campaign: 'Campaign',
    issuer: 'Issued by',
    issued: 'Issue date',
    certId: 'Certificate ID',
    png: 'Download image (PNG)',
    pdf: 'Download PDF',
    linkedin: 'Add to LinkedIn profile',
    copy: 'Copy link',
    copied: 'Link copied',
    share: 'Share',
    shareLabel: 'Certificate link',
    machine: 'Machine-verifiable credential (Open Badges 3.0):',
    json: 'JSON-LD',
    jwt: 'Signed (VC-JWT)',
    keys: 'Public keys',
    image: (n: string) => `Certificate of ${n}`,
    title: (n: string, c: string) => `${n} · ${c}`,
    desc: (o: string, c: string, n: string) => `Volunteer certificate issued by ${o} to ${n}: ${c}`,
    notFound: 'Certificate not found',
    notFoundText: (id: string) => `No certificate has the id ${id}. Check that the link or QR code is complete.`,
    footer: 'Issued and verified with volunteer-hub',
  },
};

/** The page language: ?lang= first, else the first zh/en in Accept-Language, else Chinese. */
export function pickLang(query: unknown, acceptLanguage: string | undefined): Lang {
  if (query === 'zh' || query === 'en') return query;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const tag = part.split(';')[0].trim().toLowerCase();
    if (tag.startsWith('zh')) return 'zh';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh';
}

/** LinkedIn's "add certification" URL (profile/add, startTask CERTIFICATION_NAME). */
export function linkedInUrl(
  v: { campaign: string; organization: string; issuedAt: number; url: string; certId: string },
  timeZone: string,
): string {
  const [y, m] = ymd(v.issuedAt, timeZone).split('-');
  const q = new URLSearchParams({
    startTask: 'CERTIFICATION_NAME',
    name: v.campaign,
    organizationName: v.organization,
    issueYear: y,
    issueMonth: String(Number(m)),
    certUrl: v.url,
    certId: v.certId,
  });
  return `https://www.linkedin.com/profile/add?${q.toString()}`;
}

/** YYYY-MM-DD in the service's time zone (dates shown to people). */
export function ymd(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

export interface PageData {
  id: string;
  name: string;
  number: string | null;
  campaign: string;
  organization: string;
  website: string;
  issuedAt: number;
  status: 'valid' | 'revoked';
  revokedAt: number | null;
  revocationReason: string | null;
  replacedBy: string | null;
  fields: Array<{ label: string; value: string }>;
  logoUrl: string | null;
  /** Template size, so the image keeps its place while it loads. */
  width: number;
  height: number;
}

function head(lang: Lang, title: string, extra: string): string {
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="stylesheet" href="/verify/assets/${PAGE_ASSETS.css}">
${extra}</head>`;
}

function langSwitch(lang: Lang, path: string): string {
  const a = (l: Lang, label: string) =>
    l === lang
      ? `<strong aria-current="true">${label}</strong>`
      : `<a href="${esc(path)}?lang=${l}" hreflang="${l}" lang="${l === 'zh' ? 'zh-CN' : 'en'}" data-testid="lang-${l}">${label}</a>`;
  return `<nav class="lang" aria-label="Language / 语言">${a('zh', '中文')}${a('en', 'English')}</nav>`;
}

/** The credential page. */
export function credentialPage(d: PageData, lang: Lang, base: string, timeZone: string): string {
  const t = T[lang];
  const org = d.organization || d.campaign;
  const url = `${base}/verify/${d.id}`;
  const image = `${base}/verify/${d.id}/preview.jpg`;
  const title = t.title(d.name, d.campaign);
  const desc = t.desc(org, d.campaign, d.name);
  const site = websiteUrl(d.website);
  const meta = [
    `<meta name="description" content="${esc(desc)}">`,
    `<link rel="canonical" href="${esc(url)}">`,
    `<link rel="alternate" type="application/vc+ld+json" href="${esc(url)}.json">`,
    // Open Graph (WeChat's and most apps' share cards), and schema.org microdata WeChat also reads.
    `<meta property="og:type" content="website">`,
    `<meta property="og:title" content="${esc(title)}">`,
    `<meta property="og:description" content="${esc(desc)}">`,
    `<meta property="og:image" content="${esc(image)}">`,
    `<meta property="og:url" content="${esc(url)}">`,
    `<meta property="og:site_name" content="${esc(org)}">`,
    `<meta name="twitter:card" content="summary_large_image">`,
    `<meta itemprop="name" content="${esc(title)}">`,
    `<meta itemprop="description" content="${esc(desc)}">`,
    `<meta itemprop="image" content="${esc(image)}">`,
  ].join('\n');
  const revoked = d.status === 'revoked';
  const status = revoked
    ? `<div class="status revoked" role="status" data-testid="status" data-status="revoked"><span class="mark" aria-hidden="true"></span><div>${esc(t.revoked(ymd(d.revokedAt ?? 0, timeZone), d.revocationReason ?? ''))}${
        d.replacedBy
          ? `<p>${esc(t.superseded)} <a href="/verify/${esc(d.replacedBy)}?lang=${lang}" data-testid="replaced-by">${esc(t.seeNew)}</a></p>`
          : ''
      }</div></div>`
    : `<div class="status valid" role="status" data-testid="status" data-status="valid"><span class="mark" aria-hidden="true"></span><div>${esc(t.verified)}<p>${esc(t.verifiedNote)}</p></div></div>`;
  const rows: Array<[string, string, string?]> = [
    [t.awardedTo, `<span class="name" data-testid="name">${esc(d.name)}</span>`],
    ...(d.number ? ([[t.number, `<span data-testid="number">${esc(d.number)}</span>`]] as Array<[string, string]>) : []),
    [t.campaign, esc(d.campaign)],
    [t.issuer, `${esc(org)}${site ? `<br><a href="${esc(site)}" rel="noopener">${esc(d.website)}</a>` : ''}`],
    [t.issued, `<span data-testid="issued">${esc(ymd(d.issuedAt, timeZone))}</span>`],
    ...d.fields.map((f) => [esc(f.label), esc(f.value)] as [string, string]),
    [t.certId, `<code>${esc(d.id)}</code>`],
  ];
  const li = linkedInUrl({ campaign: d.campaign, organization: org, issuedAt: d.issuedAt, url, certId: d.number || d.id }, timeZone);
  const actions = `<div class="actions">
<a class="btn primary" href="/verify/${esc(d.id)}.png" download data-testid="download-png">${esc(t.png)}</a>
<a class="btn" href="/verify/${esc(d.id)}.pdf" download data-testid="download-pdf">${esc(t.pdf)}</a>
${revoked ? '' : `<a class="btn linkedin" href="${esc(li)}" target="_blank" rel="noopener" data-testid="linkedin">${esc(t.linkedin)}</a>`}
<div class="share"><label for="share-url" hidden>${esc(t.shareLabel)}</label><input id="share-url" value="${esc(url)}" readonly aria-label="${esc(t.shareLabel)}" data-testid="share-url">
<button class="btn" id="copy" type="button" data-done="${esc(t.copied)}" data-testid="copy">${esc(t.copy)}</button><button class="btn" id="share" type="button" hidden>${esc(t.share)}</button></div>
<p class="copied" id="copied" role="status" aria-live="polite" data-testid="copied"></p>
</div>`;
  return `${head(lang, title, meta)}
<body>
<header class="top"><div class="org">${d.logoUrl ? `<img src="${esc(d.logoUrl)}" alt="${esc(org)}" data-testid="logo">` : ''}<span>${esc(org)}</span></div>${langSwitch(lang, `/verify/${d.id}`)}</header>
<main>
<h1>${esc(title)}</h1>
${status}
<div class="grid">
<div class="cert${revoked ? ' revoked-img' : ''}"><img src="/verify/${esc(d.id)}/preview.jpg" width="${d.width}" height="${d.height}" alt="${esc(t.image(d.name))}" data-testid="certificate-image"></div>
<section class="card"><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>${actions}</section>
</div>
<p class="machine">${esc(t.machine)} <a href="/verify/${esc(d.id)}.json" data-testid="json-link">${esc(t.json)}</a><a href="/verify/${esc(d.id)}.json?format=jwt">${esc(t.jwt)}</a><a href="/.well-known/jwks.json">${esc(t.keys)}</a></p>
</main>
<footer>${esc(t.footer)}</footer>
<script src="/verify/assets/${PAGE_ASSETS.js}" defer></script>
</body></html>`;
}

/** The page for an unknown id (answered with 404). */
export function notFoundPage(id: string, lang: Lang): string {
  const t = T[lang];
  return `${head(lang, t.notFound, '<meta name="robots" content="noindex">\n')}
<body>
<header class="top"><div class="org"><span>volunteer-hub</span></div>${langSwitch(lang, `/verify/${encodeURIComponent(id.slice(0, 60))}`)}</header>
<main class="notfound"><h1 data-testid="not-found">${esc(t.notFound)}</h1><p>${esc(t.notFoundText(id.slice(0, 60)))}</p></main>
</body></html>`;
}
