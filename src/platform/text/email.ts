/** The one email normalisation: every module stores and looks up addresses this way. */

/** Trims and lower-cases an email the way it is stored and looked up. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
