/**
 * The credential page's stylesheet and script, served as files (`/verify/assets/...`, names carry
 * a content hash, cached for a year) so the page runs under a strict CSP: no inline script or
 * style. The script only adds "copy link" and the phone's share sheet; the page works without it.
 */
import { createHash } from 'node:crypto';

const CSS = `:root{--fg:#1f2937;--muted:#4b5563;--line:#e5e7eb;--ok:#065f46;--ok-bg:#ecfdf5;--bad:#991b1b;--bad-bg:#fef2f2;--accent:#1d4ed8;--card:#fff;--bg:#f5f6f8}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI","PingFang SC","Noto Sans SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
.top{display:flex;align-items:center;gap:.75rem;padding:.75rem 1rem;background:var(--card);border-bottom:1px solid var(--line)}
.top .org{display:flex;align-items:center;gap:.6rem;min-width:0;flex:1;font-weight:600}
.top .org span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.top img{height:36px;width:auto;max-width:120px;object-fit:contain}
.lang{display:flex;gap:.25rem;font-size:.9rem}
.lang a,.lang strong{padding:.35rem .55rem;border-radius:6px;text-decoration:none;min-height:44px;display:inline-flex;align-items:center}
.lang strong{background:#eef2ff;color:#1e3a8a}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;line-height:1.3;margin:.25rem 0 1rem}
.status{display:flex;gap:.75rem;align-items:flex-start;padding:.85rem 1rem;border-radius:10px;margin-bottom:1rem;font-weight:600}
.status.valid{background:var(--ok-bg);color:var(--ok);border:1px solid #a7f3d0}
.status.revoked{background:var(--bad-bg);color:var(--bad);border:1px solid #fecaca}
.status p{margin:.2rem 0 0;font-weight:400}
.mark{flex:none;width:1.6rem;height:1.6rem;border-radius:50%;position:relative;background:currentColor}
.valid .mark::after{content:"";position:absolute;left:.52rem;top:.3rem;width:.4rem;height:.75rem;border:solid #fff;border-width:0 .18rem .18rem 0;transform:rotate(45deg)}
.revoked .mark::before,.revoked .mark::after{content:"";position:absolute;left:.73rem;top:.35rem;width:.16rem;height:.9rem;background:#fff;transform:rotate(45deg)}
.revoked .mark::after{transform:rotate(-45deg)}
.grid{display:grid;gap:1rem}
.cert{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.5rem}
.cert img{display:block;width:100%;height:auto;border-radius:6px}
.revoked-img img{filter:grayscale(1);opacity:.55}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:1rem}
dl{margin:0;display:grid;grid-template-columns:1fr;gap:.15rem}
dt{color:var(--muted);font-size:.875rem;margin-top:.6rem}
dt:first-child{margin-top:0}
dd{margin:0;font-size:1.05rem;overflow-wrap:anywhere}
.name{font-size:1.3rem;font-weight:700}
code{font-size:.9rem;background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}
.actions{display:grid;grid-template-columns:1fr 1fr;gap:.6rem;margin-top:1rem}
.btn{display:flex;align-items:center;justify-content:center;text-align:center;min-height:48px;padding:.6rem .9rem;border-radius:8px;border:1px solid #c7cdd6;background:#fff;color:var(--fg);font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.btn.primary{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.btn.linkedin{background:#0a66c2;border-color:#0a66c2;color:#fff;grid-column:1/-1}
.share{grid-column:1/-1;display:flex;gap:.5rem}
.share input{flex:1;min-width:0;min-height:48px;padding:.5rem .7rem;border:1px solid #c7cdd6;border-radius:8px;font:inherit;font-size:.9rem;color:var(--muted);background:#f9fafb}
.share .btn{flex:none}
.copied{grid-column:1/-1;color:var(--ok);font-weight:600;min-height:1.5em;margin:0}
.machine{font-size:.9rem;color:var(--muted)}
.machine a{margin-right:.75rem;display:inline-block;padding:.35rem 0}
footer{max-width:60rem;margin:0 auto;padding:1rem;color:var(--muted);font-size:.85rem}
.notfound{max-width:36rem;margin:3rem auto;text-align:center}
@media (min-width:900px){main{padding:1.5rem}.grid{grid-template-columns:minmax(0,3fr) minmax(18rem,2fr);align-items:start}h1{font-size:1.6rem}}
`;

const JS = `(function(){
var box=document.getElementById('share-url');var copy=document.getElementById('copy');var say=document.getElementById('copied');var share=document.getElementById('share');
if(copy&&box){copy.addEventListener('click',function(){var done=function(){if(say)say.textContent=copy.getAttribute('data-done')||'';};
if(navigator.clipboard&&navigator.clipboard.writeText){navigator.clipboard.writeText(box.value).then(done,function(){box.select();document.execCommand('copy');done();});}else{box.select();document.execCommand('copy');done();}});}
if(share&&navigator.share){share.hidden=false;share.addEventListener('click',function(){navigator.share({title:document.title,url:box?box.value:location.href}).catch(function(){});});}
})();
`;

function hashed(body: string, ext: string) {
  const h = createHash('sha256').update(body).digest('hex').slice(0, 10);
  return { name: `verify.${h}.${ext}`, body, type: ext === 'css' ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' };
}

/** The page's assets by file name; `css` and `js` are their current names. */
export const PAGE_ASSETS = (() => {
  const css = hashed(CSS, 'css');
  const js = hashed(JS, 'js');
  return { css: css.name, js: js.name, files: new Map([css, js].map((f) => [f.name, f])) };
})();
