/** Certificate rendering: the one entry point for callers outside render/ (types and functions). */
export type * from './types.js';
export { RenderRefused, ImageRejected } from './errors.js';
export type { ImageRejectReason } from './errors.js';
export { defaultLayout } from './layout.js';
export { renderCertificate, renderPreview, warmUpRenderer } from './render.js';
export type { PreviewOptions } from './render.js';
export { checkName, MAX_NAME_CHARS } from './name-check.js';
export { probeImage, MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS } from './image-probe.js';
export { DEFAULT_FONT_ID } from './fonts.js';
export { verifyImage, verifyTemplate, clearTemplateCache } from './template-cache.js';
export { formatDate, DEFAULT_DATE_FORMAT } from './date-format.js';
