/**
 * WeChat's message XML, hardened. Input: size-limited, and any markup declaration (`<!DOCTYPE`,
 * `<!ENTITY`, `<!ELEMENT`, ...) is refused BEFORE parsing, so no DTD, no entity expansion and no
 * external entity is ever looked at; only the predefined XML entities and character references
 * remain. Output: every text goes in CDATA with `]]>` split across sections and characters XML
 * 1.0 forbids removed, so no reply text can break out of its element.
 */

/** Largest callback body accepted (WeChat's messages are a few KB). */
export const MAX_XML_BYTES = 64 * 1024;

/** Deepest element nesting accepted, `<xml>` counting as 1 (WeChat's deepest is 4: a news reply's Articles/item/Title). */
export const MAX_XML_DEPTH = 16;

export class XmlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRefusedError';
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined entities and character references; any other entity is refused. */
function decodeText(t: string): string {
  if (!t.includes('&')) return t;
  return t.replace(/&([^;&\s]{0,10});?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw new XmlRefusedError('body is not well-formed XML');
    if (PREDEFINED[name]) return PREDEFINED[name];
    const cp = /^#x[0-9a-f]{1,6}$/i.test(name) ? parseInt(name.slice(2), 16) : /^#[0-9]{1,7}$/.test(name) ? Number(name.slice(1)) : -1;
    if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw new XmlRefusedError('entities other than the predefined ones are not accepted');
    return String.fromCodePoint(cp);
  });
}

/**
 * A strict reader for WeChat's flat documents, written for speed (it was most of the webhook's
 * time with a general-purpose parser): an optional `<?xml ...?>` declaration, then `<xml>` with
 * child elements holding text and CDATA. Comments are skipped; nested elements (ScanCodeInfo,
 * ...) and repeated ones are read for well-formedness and left out; attributes are refused.
 */
class FlatReader {
  i = 0;
  constructor(readonly s: string) {}
  fail(): never {
    throw new XmlRefusedError('body is not well-formed XML');
  }
  skipMisc(): void {
    const s = this.s;
    for (;;) {
      while (
        this.i < s.length &&
        (s.charCodeAt(this.i) === 32 || s.charCodeAt(this.i) === 10 || s.charCodeAt(this.i) === 13 || s.charCodeAt(this.i) === 9)
      )
        this.i++;
      if (s.startsWith('<!--', this.i)) {
        const e = s.indexOf('-->', this.i + 4);
        if (e < 0) this.fail();
        this.i = e + 3;
      } else return;
    }
  }
  /**
   * An element name, `[A-Za-z_][A-Za-z0-9_.-]*`, read by char codes: a sticky regular expression
   * made a match array per name, 6-8 of them per message (callgrind of the webhook's ladder:
   * ~2.6k instructions per message in `RegExp.prototype.exec`; bench/README.md, a ninth pass).
   */
  name(): string {
    const s = this.s;
    const start = this.i;
    let c = s.charCodeAt(start);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95)) this.fail();
    let i = start + 1;
    for (;;) {
      c = s.charCodeAt(i);
      if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 46 || c === 45) i++;
      else break;
    }
    this.i = i;
    return s.slice(start, i);
  }
  /** After `<`: reads `Name>` or `Name/>`; true when self-closing. */
  openTag(): { name: string; empty: boolean } {
    const name = this.name();
    while (this.s.charCodeAt(this.i) === 32) this.i++;
    if (this.s.startsWith('/>', this.i)) {
      this.i += 2;
      return { name, empty: true };
    }
    if (this.s[this.i] !== '>') this.fail();
    this.i++;
    return { name, empty: false };
  }
  /**
   * The usual shape of a WeChat field, `<![CDATA[...]]></Name>` or `text</Name>` (no whitespace
   * around a CDATA section, no child, no comment): its value and the reader past the end tag, the
   * same value `content` gives; undefined (reader unmoved) for any other shape, which `content`
   * then reads. `content`'s general loop (an explicit stack, the end tag's name read by a regular
   * expression) made parsing a typical message ~2.2 us; see bench/README.md, a fifth pass.
   */
  leaf(name: string): string | undefined {
    const s = this.s;
    let i = this.i;
    let value: string;
    if (s.startsWith('<![CDATA[', i)) {
      const e = s.indexOf(']]>', i + 9);
      if (e < 0) return undefined;
      value = s.slice(i + 9, e);
      i = e + 3;
    } else {
      const lt = s.indexOf('<', i);
      if (lt < 0 || s.charCodeAt(lt + 1) !== 47 /* / */) return undefined;
      const text = s.slice(i, lt).trim();
      value = text ? decodeText(text) : '';
      i = lt;
    }
    // `</Name>` exactly: the name is followed by `>`, which no name character is.
    if (s.charCodeAt(i) !== 60 || s.charCodeAt(i + 1) !== 47 || !s.startsWith(name, i + 2) || s.charCodeAt(i + 2 + name.length) !== 62)
      return undefined;
    this.i = i + 3 + name.length;
    return value;
  }
  /**
   * Content of an element up to and including its end tag; undefined when it had child elements.
   * With a `sink`, child elements are recorded there under dotted paths (`Image.MediaId`), the
   * first of repeated ones only (replies: see parseWechatXml's `nested`). `depth` is the
   * element's own depth (`<xml>` is 1). No recursion: open elements are an explicit stack, and an
   * element deeper than MAX_XML_DEPTH is refused, so a body nested thousands deep costs one pass
   * and a clear refusal, never a stack overflow (issue 10 item 9).
   */
  content(name: string, path: string | undefined, sink: Record<string, string> | undefined, depth: number): string | undefined {
    const leaf = this.leaf(name);
    if (leaf !== undefined) return leaf;
    const s = this.s;
    const stack: Array<{ name: string; path?: string; out: string; nested: boolean }> = [{ name, path, out: '', nested: false }];
    for (;;) {
      const top = stack[stack.length - 1];
      const lt = s.indexOf('<', this.i);
      if (lt < 0) this.fail();
      const text = s.slice(this.i, lt);
      if (text.trim()) top.out += decodeText(text.trim());
      this.i = lt;
      if (s.startsWith('<![CDATA[', lt)) {
        const e = s.indexOf(']]>', lt + 9);
        if (e < 0) this.fail();
        top.out += s.slice(lt + 9, e);
        this.i = e + 3;
      } else if (s.startsWith('<!--', lt)) {
        this.skipMisc();
      } else if (s.startsWith('</', lt)) {
        this.i = lt + 2;
        if (this.name() !== top.name) this.fail();
        while (s.charCodeAt(this.i) === 32) this.i++;
        if (s[this.i] !== '>') this.fail();
        this.i++;
        stack.pop();
        const value = top.nested ? undefined : top.out;
        if (stack.length === 0) return value;
        if (sink && top.path !== undefined && value !== undefined && !Object.hasOwn(sink, top.path)) sink[top.path] = value;
        stack[stack.length - 1].nested = true;
      } else {
        this.i = lt + 1;
        const child = this.openTag();
        if (depth + stack.length > MAX_XML_DEPTH) throw new XmlRefusedError(`XML nested too deep (more than ${MAX_XML_DEPTH} levels)`);
        const childPath = sink && top.path !== undefined ? `${top.path}.${child.name}` : undefined;
        top.nested = true;
        if (child.empty) {
          if (sink && childPath && !Object.hasOwn(sink, childPath)) sink[childPath] = '';
        } else stack.push({ name: child.name, path: childPath, out: '', nested: false });
      }
    }
  }
}

/**
 * Parses a flat `<xml>...</xml>` document into its child elements (strings). Throws
 * XmlRefusedError on size, markup declarations, or anything that is not such a document.
 * `nested`: also record nested elements under dotted paths (`Image.MediaId`,
 * `Articles.item.Title`), for reading image and news replies; the webhook does not need it.
 */
export function parseWechatXml(xml: string, opts: { nested?: boolean } = {}): Record<string, string> {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: a string that short needs no counting.
  if (xml.length > MAX_XML_BYTES || (xml.length * 3 > MAX_XML_BYTES && Buffer.byteLength(xml, 'utf8') > MAX_XML_BYTES))
    throw new XmlRefusedError('XML body too large');
  // Any `<!` other than CDATA or a comment is a markup declaration (DOCTYPE, ENTITY, ...).
  if (/<!(?!\[CDATA\[|--)/i.test(xml)) throw new XmlRefusedError('DTDs and entity declarations are not accepted');
  const r = new FlatReader(xml);
  r.skipMisc();
  if (xml.startsWith('<?xml', r.i)) {
    const e = xml.indexOf('?>', r.i);
    if (e < 0) r.fail();
    r.i = e + 2;
    r.skipMisc();
  }
  if (xml[r.i] !== '<') r.fail();
  r.i++;
  const root = r.openTag();
  if (root.name !== 'xml') throw new XmlRefusedError('expected an <xml> root element');
  const out: Record<string, string> = {};
  // Elements seen twice (left out); made only for a document that has one.
  let repeated: Set<string> | undefined;
  if (!root.empty) {
    for (;;) {
      r.skipMisc();
      if (xml.startsWith('</', r.i)) {
        r.i += 2;
        if (r.name() !== 'xml' || xml[r.i] !== '>') r.fail();
        r.i++;
        break;
      }
      if (xml[r.i] !== '<') r.fail();
      r.i++;
      const el = r.openTag();
      const value = el.empty ? '' : opts.nested ? r.content(el.name, el.name, out, 2) : r.content(el.name, undefined, undefined, 2);
      if (Object.hasOwn(out, el.name) || repeated?.has(el.name)) {
        delete out[el.name];
        (repeated ??= new Set()).add(el.name);
      } else if (value !== undefined && el.name !== '__proto__') out[el.name] = value;
    }
  }
  r.skipMisc();
  if (r.i !== xml.length) r.fail();
  return out;
}

// XML 1.0 allows tab, LF, CR and U+0020.. except surrogates (handled by the u flag) and U+FFFE/FFFF.
const INVALID_XML_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text that `cdata` would change: a character XML 1.0 forbids (or half a surrogate pair, left to the slow path), or `]]>`. */
const CDATA_NEEDS_WORK = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD]|\]\]>/;

/** A CDATA section holding `text` exactly, whatever it contains. */
export function cdata(text: string): string {
  // Most texts (names, ids, replies without emoji) need neither step below: one test instead of
  // a Unicode-aware replace and a split (measured with the reply builders below, a fifth pass).
  if (!CDATA_NEEDS_WORK.test(text)) return `<![CDATA[${text}]]>`;
  return `<![CDATA[${text.replace(INVALID_XML_CHARS, '').split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/** Element content for buildXml: text (CDATA), a number (bare), or child elements. */
export type XmlFields = { [name: string]: string | number | XmlFields };

function elements(fields: XmlFields): string {
  let s = '';
  for (const [k, v] of Object.entries(fields)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad XML element name ${k}`);
    s +=
      typeof v === 'number'
        ? `<${k}>${Math.trunc(v)}</${k}>`
        : typeof v === 'string'
          ? `<${k}>${cdata(v)}</${k}>`
          : `<${k}>${elements(v)}</${k}>`;
  }
  return s;
}

/** Builds `<xml>` with string fields in CDATA, number fields bare and objects as child elements. */
export function buildXml(fields: XmlFields): string {
  return `<xml>${elements(fields)}</xml>`;
}

/** A passive text reply to a message from `to` received by `from` (the account's id). */
export function textReplyXml(to: string, from: string, content: string, createTime: number): string {
  // What buildXml({ToUserName, FromUserName, CreateTime, MsgType: 'text', Content}) builds, written
  // out: the webhook's most frequent answer, without buildXml's walk over the keys and their checks
  // (protocol.test.ts compares the two).
  return `<xml><ToUserName>${cdata(to)}</ToUserName><FromUserName>${cdata(from)}</FromUserName><CreateTime>${Math.trunc(createTime)}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>${cdata(content)}</Content></xml>`;
}

/** A passive image reply: `mediaId` names an image in the account's material library. */
export function imageReplyXml(to: string, from: string, mediaId: string, createTime: number): string {
  return buildXml({ ToUserName: to, FromUserName: from, CreateTime: createTime, MsgType: 'image', Image: { MediaId: mediaId } });
}

/** A passive news (link card) reply with one article: WeChat shows at most one since October 2018. */
export function newsReplyXml(
  to: string,
  from: string,
  a: { title: string; description: string; url: string; picUrl: string },
  createTime: number,
): string {
  return buildXml({
    ToUserName: to,
    FromUserName: from,
    CreateTime: createTime,
    MsgType: 'news',
    ArticleCount: 1,
    Articles: { item: { Title: a.title, Description: a.description, PicUrl: a.picUrl, Url: a.url } },
  });
}
