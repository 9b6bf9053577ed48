import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { skia } from './canvas.js';
import { CodePointSet, parseFont, type FontInfo } from './cmap.js';

/** The id of the bundled font (Noto Sans Hans Regular from @embedpdf/fonts-sc, OFL-1.1). */
export const DEFAULT_FONT_ID = 'default';

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
 * The font a field is drawn with: the bundled one. (A layout's `font` id is accepted and stored
 * for compatibility; there is no font upload, so every id draws with the bundled font.)
 */
export function getFont(_id?: string): LoadedFont {
  return defaultFont();
}

/** The CSS font-family of the bundled font, as registered with Skia. */
export function fontStack(): string {
  return `"${defaultFont().family}"`;
}

/** Whether the bundled font can draw code point `cp`. */
export function canDraw(cp: number): boolean {
  return defaultFont().coverage.has(cp);
}

export type { CodePointSet };
