/** What the certificates services need, built once in index.ts (factory functions take a Pick of it). */
import type { Config } from '../../config.js';
import type { DB } from '../../platform/db/index.js';
import type { SqliteFast } from '../../platform/db/sqlite-fast.js';
import type { JobQueue } from '../../platform/jobs/types.js';
import type { Mailer } from '../../platform/mail/types.js';
import type { SecretBox } from '../../platform/crypto/secretbox.js';
import type { Logger } from '../../platform/logger.js';
import type { CampaignsRepo } from './campaigns-repo.js';
import type { RecipientsRepo } from './recipients-repo.js';
import type { Renderer } from './rendering.js';
import type { IssuedRepo } from './credentials/repo.js';
import { randomToken } from '../../platform/crypto/tokens.js';

export interface CertDeps {
  db: DB;
  campaigns: CampaignsRepo;
  recipients: RecipientsRepo;
  /** Issued credentials (issued_certificates). */
  issued: IssuedRepo;
  renderer: Renderer;
  jobs: JobQueue;
  mailer: Mailer;
  secrets: SecretBox;
  config: Config;
  logger: Logger;
  now: () => number;
  /** The handle's fast path for hot lookups (db/sqlite-fast.ts). */
  fast?: SqliteFast;
}

/** Host part for stable Message-IDs (`<notice.12.1@host>`). */
export function messageHost(publicUrl: string): string {
  try {
    return new URL(publicUrl).hostname || 'localhost';
  } catch {
    return 'localhost';
  }
}

/**
 * A public certificate id: 128 random bits, base64url, 22 characters, starting with a letter or
 * digit. A leading '-' would be taken for a formula by spreadsheets (the CSV export would have to
 * quote it, changing the id) and reads badly in a URL or on paper.
 */
export function newCertificateId(): string {
  for (;;) {
    const id = randomToken(16);
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
