import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { skia } from './canvas.js';
import { CodePointSet, FontParseError, parseFont, type FontInfo } from './cmap.js';
import { FontRejected } from './errors.js';

/** The id of the bundled font (Noto Sans Hans Regular from @embedpdf/fonts-sc, OFL-1.1). */
export const DEFAULT_FONT_ID = 'default';
/** Largest uploaded font accepted (the bundled CJK font is about 8 MB). */
export const MAX_FONT_BYTES = 32 * 1024 * 1024;
const FONT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

interface LoadedFont extends FontInfo {
  id: string;
  /** The family name registered with Skia; unique per font content. */
  family: string;
}

const fonts = new Map<string, LoadedFont>();

/** Path of the bundled font file; resolved through the package so it works from src/ and dist/. */
export function defaultFontPath(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('@embedpdf/fonts-sc');
  return join(dirname(entry), '..', 'fonts', 'NotoSansHans-Regular.otf');
}

function loadDefault(): LoadedFont {
  const path = defaultFontPath();
  const bytes = readFileSync(path);
  const info = parseFont(bytes);
  const family = 'vh-default-noto-sans-sc';
  if (!skia().GlobalFonts.has(family) && !skia().GlobalFonts.registerFromPath(path, family)) {
    throw new Error(`Could not load the bundled font at ${path}`);
  }
  const font = { ...info, id: DEFAULT_FONT_ID, family };
  fonts.set(DEFAULT_FONT_ID, font);
  return font;
}

/** The bundled font, loaded (once) on first use. */
export function defaultFont(): LoadedFont {
  return fonts.get(DEFAULT_FONT_ID) ?? loadDefault();
}

/**
 * Looks a font up by id; unknown ids (e.g. a font deleted since the layout was saved) fall back
 * to the bundled font, so a stored layout always renders.
 */
export function getFont(id: string | undefined): LoadedFont {
  const d = defaultFont();
  if (!id || id === DEFAULT_FONT_ID) return d;
  return fonts.get(id) ?? d;
}

/** True if a font with this id is registered (the bundled 'default' always is). */
export function hasFont(id: string): boolean {
  return id === DEFAULT_FONT_ID || fonts.has(id);
}

/**
 * Registers an organizer's TTF/OTF font under `id` (letters, digits, '-' and '_'), checked by
 * content (sfnt magic) and by parsing its character map. Registering the same id again replaces
 * it. Fonts live in process memory: the caller re-registers stored fonts at start.
 * Throws FontRejected with a user-facing message.
 */
export function registerFont(id: string, bytes: Buffer): { id: string; glyphs: number } {
  if (!FONT_ID_RE.test(id) || id === DEFAULT_FONT_ID) {
    throw new FontRejected('bad_id', 'A font id is 1-64 letters, digits, "-" or "_", and not "default".');
  }
  if (bytes.length > MAX_FONT_BYTES) {
    throw new FontRejected('too_large', `The font is larger than ${MAX_FONT_BYTES / 1048576} MB.`);
  }
  let info: FontInfo;
  try {
    info = parseFont(bytes);
  } catch (err) {
    if (err instanceof FontParseError) throw new FontRejected('not_font', err.message);
    throw err;
  }
  if (info.coverage.size === 0) throw new FontRejected('no_cmap', 'The font maps no characters.');
  defaultFont();
  const family = `vh-font-${createHash('sha256').update(bytes).digest('hex').slice(0, 20)}`;
  if (!skia().GlobalFonts.has(family) && !skia().GlobalFonts.register(bytes, family)) {
    throw new FontRejected('load_failed', 'The font could not be loaded by the renderer.');
  }
  fonts.set(id, { ...info, id, family });
  return { id, glyphs: info.coverage.size };
}

/** The CSS font-family list for a field: its own font, then the bundled one as fallback. */
export function fontStack(id: string | undefined): string {
  const f = getFont(id);
  const d = defaultFont();
  return f === d ? `"${d.family}"` : `"${f.family}", "${d.family}"`;
}

/**
 * Whether every font stack in `fontIds` can draw code point `cp` (its own font or the bundled
 * fallback). With no ids, the bundled font alone decides.
 */
export function canDraw(cp: number, fontIds?: readonly string[]): boolean {
  const d = defaultFont();
  if (d.coverage.has(cp)) return true;
  if (!fontIds?.length) return false;
  return fontIds.every((id) => getFont(id) !== d && getFont(id).coverage.has(cp));
}

export type { CodePointSet };
