/** Why an uploaded template image was refused (stable codes for API answers). */
export type ImageRejectReason = 'not_image' | 'too_large' | 'too_many_pixels' | 'bad_dimensions' | 'truncated' | 'corrupt';

/**
 * Thrown by probeImage (and renderCertificate for a bad template): `message` is a clear,
 * user-facing sentence; `reason` a stable code.
 */
export class ImageRejected extends Error {
  readonly reason: ImageRejectReason;
  constructor(reason: ImageRejectReason, message: string) {
    super(message);
    this.name = 'ImageRejected';
    this.reason = reason;
  }
}

/**
 * Thrown by renderCertificate when a text cannot be printed faithfully (a name refused by
 * checkName, a number or date format with characters the fonts lack). Never drawn as boxes.
 */
export class RenderRefused extends Error {
  constructor(
    readonly field: 'name' | 'number' | 'date' | 'qr' | 'field',
    readonly reason: 'empty' | 'too_long' | 'control_chars' | 'unsupported_chars',
    message: string,
    readonly chars?: string[],
  ) {
    super(message);
    this.name = 'RenderRefused';
  }
}
