/** Certificate rendering: import from here or from ./types.js (same exports). */
export * from './types.js';
export { RenderRefused } from './errors.js';
export { clearTemplateCache } from './template-cache.js';
export { formatDate, DEFAULT_DATE_FORMAT } from './date-format.js';
export { MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS } from './image-probe.js';
export { MAX_NAME_CHARS } from './name-check.js';
export { DEFAULT_FONT_ID } from './fonts.js';
