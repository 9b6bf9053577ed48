/**
 * The one HTML escaper, for element content and attribute values (quoted with " or '). Used by
 * the server's mail and pages and by the web pages' own DOM strings (no Node imports here).
 */
const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text; null and undefined become the empty string. */
export function escapeHtml(s: string | number | null | undefined): string {
  return (s == null ? '' : String(s)).replace(/[&<>"']/g, (c) => ESC[c]);
}
