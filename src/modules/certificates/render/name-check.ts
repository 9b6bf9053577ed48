import { canDraw } from './fonts.js';
import type { NameCheckResult } from './types.js';

/** Longest name accepted, in characters (code points after NFC). */
export const MAX_NAME_CHARS = 100;

// Characters that are never part of a printed name: C0/C1 controls, line/paragraph separators,
// and invisible format characters (bidi overrides that reorder text, zero-width spaces, BOM,
// soft hyphen), which could make a printed name differ from what the volunteer saw.
// ZWJ/ZWNJ (U+200C/U+200D) are left to the coverage check: they come with emoji sequences.
const CONTROL_RE = /[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]|(?![\u200c\u200d])\p{Cf}/u;
// Emoji presentation: the bundled fonts have no colour emoji, and U+FE0F asks for one.
const EMOJI_RE = /\p{Emoji_Presentation}|\u{FE0F}|\p{Emoji_Modifier}|\u200d/u;
// Variation selectors other than VS16 pick a glyph variant of the preceding character and are
// ignored by the shaper when the font lacks that variant: harmless if the base is drawable.
const VARIATION_SELECTOR_RE = /^[\u{FE00}-\u{FE0E}\u{E0100}-\u{E01EF}]$/u;

const segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });

/**
 * Validates a name for printing: trims, NFC-normalises, refuses empty, longer than 100
 * characters, control/invisible characters, and any character the bundled font cannot draw
 * (emoji, scripts the font lacks), listing those characters.
 */
export function checkName(name: string): NameCheckResult {
  const clean = String(name ?? '')
    .normalize('NFC')
    .trim();
  if (!clean) return { ok: false, reason: 'empty', message: 'Please enter a name.' };
  const length = [...clean].length;
  if (length > MAX_NAME_CHARS) {
    return { ok: false, reason: 'too_long', message: `The name is ${length} characters long; at most ${MAX_NAME_CHARS} are allowed.` };
  }
  if (CONTROL_RE.test(clean)) {
    return {
      ok: false,
      reason: 'control_chars',
      message: 'The name contains control or invisible characters (line breaks, tabs, direction marks); please remove them.',
    };
  }
  const bad: string[] = [];
  for (const { segment } of segmenter.segment(clean)) {
    if (!clusterDrawable(segment) && !bad.includes(segment)) bad.push(segment);
  }
  if (bad.length) {
    return {
      ok: false,
      reason: 'unsupported_chars',
      message: `The certificate font cannot draw these characters: ${bad.join(' ')}. Please write the name without them.`,
      chars: bad,
    };
  }
  return { ok: true, name: clean };
}

function clusterDrawable(cluster: string): boolean {
  if (EMOJI_RE.test(cluster)) return false;
  let first = true;
  for (const ch of cluster) {
    // A variation selector after a drawable base character is fine (see above); alone it is not.
    if (!first && VARIATION_SELECTOR_RE.test(ch)) continue;
    // Combining marks must be in the font too, or they would show as boxes next to the letter.
    if (!canDraw(ch.codePointAt(0)!)) return false;
    first = false;
  }
  return true;
}
