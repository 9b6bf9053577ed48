/**
 * WeChat's message XML, hardened. Input: size-limited, and any markup declaration (`<!DOCTYPE`,
 * `<!ENTITY`, `<!ELEMENT`, ...) is refused BEFORE parsing, so no DTD, no entity expansion and no
 * external entity is ever looked at; only the predefined XML entities and character references
 * remain. Output: every text goes in CDATA with `]]>` split across sections and characters XML
 * 1.0 forbids removed, so no reply text can break out of its element.
 */
import { XMLParser } from 'fast-xml-parser';

/** Largest callback body accepted (WeChat's messages are a few KB). */
export const MAX_XML_BYTES = 64 * 1024;

export class XmlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRefusedError';
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keep every value a string: MsgId is a 64-bit integer that a number would round.
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/**
 * Parses a flat `<xml>...</xml>` document into its child elements (strings). Throws
 * XmlRefusedError on size, markup declarations, or anything that is not such a document.
 */
export function parseWechatXml(xml: string): Record<string, string> {
  if (Buffer.byteLength(xml, 'utf8') > MAX_XML_BYTES) throw new XmlRefusedError('XML body too large');
  // Any `<!` other than CDATA or a comment is a markup declaration (DOCTYPE, ENTITY, ...).
  if (/<!(?!\[CDATA\[|--)/i.test(xml)) throw new XmlRefusedError('DTDs and entity declarations are not accepted');
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch {
    throw new XmlRefusedError('body is not well-formed XML');
  }
  const root = (doc as Record<string, unknown>)?.xml;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new XmlRefusedError('expected an <xml> root element');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(root as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) out[k] = '';
    // Nested elements (e.g. ScanCodeInfo) and repeated ones are not needed here; skipped.
  }
  return out;
}

// XML 1.0 allows tab, LF, CR and U+0020.. except surrogates (handled by the u flag) and U+FFFE/FFFF.
const INVALID_XML_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** A CDATA section holding `text` exactly, whatever it contains. */
export function cdata(text: string): string {
  return `<![CDATA[${text.replace(INVALID_XML_CHARS, '').split(']]>').join(']]]]><![CDATA[>')}]]>`;
}

/** Builds `<xml>` with string fields in CDATA and number fields bare. */
export function buildXml(fields: Record<string, string | number>): string {
  let s = '<xml>';
  for (const [k, v] of Object.entries(fields)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad XML element name ${k}`);
    s += typeof v === 'number' ? `<${k}>${Math.trunc(v)}</${k}>` : `<${k}>${cdata(v)}</${k}>`;
  }
  return `${s}</xml>`;
}

/** A passive text reply to a message from `to` received by `from` (the account's id). */
export function textReplyXml(to: string, from: string, content: string, createTime: number): string {
  return buildXml({ ToUserName: to, FromUserName: from, CreateTime: createTime, MsgType: 'text', Content: content });
}
