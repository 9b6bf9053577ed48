/** The one email normalisation: every module stores and looks up addresses this way. */

/** Trims and lower-cases an email the way it is stored and looked up. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The domain of an address (the part after the last @), lower-cased. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
