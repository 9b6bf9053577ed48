/**
 * Row types of the certificates module's tables, added to the shared `Database` by module
 * augmentation (see platform/db/schema.ts). Times are integer ms; booleans 0/1.
 */
import type { Generated } from 'kysely';

export interface CampaignTable {
  id: Generated<number>;
  slug: string;
  name: string;
  organization: Generated<string>;
  website: Generated<string>;
  /** Base of the claim page link; null = PUBLIC_URL/certificate. */
  claim_url: string | null;
  archived: Generated<number>;
  /** JSON of render's Layout; null = defaultLayout(template size). */
  layout: string | null;
  /** sha256 of the template in certificate_templates; null = none uploaded yet. */
  template_sha: string | null;
  template_type: string | null;
  template_width: number | null;
  template_height: number | null;
  date_format: Generated<string>;
  output: Generated<string>;
  /** null = the built-in template. */
  mail_subject: string | null;
  mail_body: string | null;
  smtp_host: string | null;
  smtp_port: number | null;
  smtp_security: string | null;
  smtp_user: string | null;
  /** Sealed with core.secrets; never returned by any API. */
  smtp_password: string | null;
  smtp_from: string | null;
  rate_per_sec: number | null;
  daily_limit: number | null;
  /** 'idle' | 'sending' | 'paused' */
  sending: Generated<string>;
  /** Set while the mail quota holds sending back (progress shows the pause). */
  paused_until: number | null;
  created_at: number;
  updated_at: number;
}

export interface RecipientTable {
  id: Generated<number>;
  campaign_id: number;
  /** Lower-cased; unique per campaign. */
  email: string;
  number: string | null;
  name: string | null;
  /** sha256 (hex) of the link token; the token itself is never stored. */
  token_hash: string | null;
  /** Sealed token of a notice being sent: a retry after a crash mails the same link and Message-ID. */
  pending_token: string | null;
  /** 0 imported, 1 notice sent, 2 name submitted, 3 rendered, 4 certificate mailed. */
  status: Generated<number>;
  /** Last failure reason (permanent, or retries used up); null when fine. */
  failure: string | null;
  failed_at: number | null;
  /** Temporary notice failures: not before this time. */
  retry_at: number | null;
  attempts: Generated<number>;
  notice_count: Generated<number>;
  cert_count: Generated<number>;
  /** Public random id of the certificate (verification). */
  certificate_id: string | null;
  claimed_at: number | null;
  issued_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface CertificateTemplateTable {
  sha256: string;
  type: string;
  width: number;
  height: number;
  bytes: Buffer;
  created_at: number;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    campaigns: CampaignTable;
    recipients: RecipientTable;
    certificate_templates: CertificateTemplateTable;
  }
}
