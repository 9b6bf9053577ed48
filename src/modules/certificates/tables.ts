/**
 * Row types of the certificates module's tables, added to the shared `Database` by module
 * augmentation (see platform/db/tables.ts). Times are integer ms; booleans 0/1.
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
  /** Set while the mail quota or an SMTP outage holds sending back (progress shows the pause). */
  paused_until: number | null;
  /** Why sending is held back (an SMTP outage's error text); null when it is not. */
  pause_reason: Generated<string | null>;
  /** Probes of the SMTP server that failed in the current outage (the probe backoff doubles with each). */
  outage_probes: Generated<number>;
  /** The issuer's logo (sha256 in certificate_templates, which holds images by content); null = none. */
  logo_sha: Generated<string | null>;
  logo_type: Generated<string | null>;
  /** JSON [{key, label}]: import columns beyond email/number/name (see import-columns.ts). */
  custom_fields: Generated<string | null>;
  /** Next position in this campaign's revocation status list (one per issued credential). */
  status_next: Generated<number>;
  /** Display name of the From (null = the organization or campaign name). */
  from_name: Generated<string | null>;
  /** Reply-To (the organizer); null = none. */
  reply_to: Generated<string | null>;
  /** The bounce mailbox, `imap[s]://user:pass@host:port/MAILBOX`, sealed; null = BOUNCE_IMAP_URL or none. */
  bounce_imap: Generated<string | null>;
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
  /** When the SMTP server accepted the latest notice (the fleet's sending rate in progress). */
  noticed_at: Generated<number | null>;
  /** Attempting marker: the instance sending this notice right now (no other may until `sending_until`). */
  sending_by: Generated<string | null>;
  sending_until: Generated<number | null>;
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
  /** JSON {key: value} of the custom import columns (campaign custom_fields). */
  fields: Generated<string | null>;
  /**
   * The current link, sealed with core.secrets, kept after the notice went out so that a reminder
   * (resend) and a reset mail the SAME link instead of killing the one the volunteer holds.
   */
  link_sealed: Generated<string | null>;
  /** One-click unsubscribe: no more notices or reminders of this campaign (the certificate still goes). */
  unsubscribed_at: Generated<number | null>;
  /** A hard bounce was read for a notice (failure holds the remote reason). */
  bounced_at: Generated<number | null>;
  created_at: number;
  updated_at: number;
}

/**
 * One issued credential (the certificate as a verifiable record). Immutable once written except
 * for revocation; a corrected name makes a new row and revokes the old one ("superseded").
 * It outlives a reset or deletion of its volunteer, so /verify/<id> keeps answering.
 */
export interface IssuedCertificateTable {
  id: Generated<number>;
  /** The public id in /verify/<id> (recipients.certificate_id of the current one). */
  public_id: string;
  campaign_id: number;
  recipient_id: number | null;
  name: string;
  number: string | null;
  /** JSON {key: value} of custom fields at issue time. */
  fields: string | null;
  issued_at: number;
  /** Position in the campaign's Bitstring Status List. */
  status_index: number;
  revoked_at: number | null;
  revocation_reason: string | null;
  /** public_id of the credential that replaced this one (reissue). */
  replaced_by: string | null;
  created_at: number;
}

/** Ed25519 signing keys of the instance; every key ever used stays published. */
export interface CredentialKeyTable {
  kid: string;
  /** Public JWK (JSON). */
  public_jwk: string;
  /** PKCS#8 PEM of the private key, sealed with core.secrets. */
  private_sealed: string;
  /** 1 for the key that signs now (at most one: partial unique index); null once rotated out. */
  active: number | null;
  created_at: number;
  retired_at: number | null;
}

export interface CertificateTemplateTable {
  sha256: string;
  type: string;
  width: number;
  height: number;
  bytes: Buffer;
  created_at: number;
}

/** Volunteers per campaign and status, kept by triggers (migration 1310): the list's total without counting rows. */
export interface RecipientCountTable {
  campaign_id: number;
  status: number;
  n: number;
}

/** The Message-ID of every notice sent, to match a bounce to its volunteer. */
export interface NoticeMessageTable {
  message_id: string;
  recipient_id: number;
  campaign_id: number;
  created_at: number;
}

/** Addresses no campaign mails until the organizer clears them (hard bounces). Lower-cased. */
export interface MailBlocklistTable {
  email: string;
  reason: string;
  campaign_id: number | null;
  message_id: string | null;
  created_at: number;
}

/** DKIM keys per sender domain; the private key sealed with core.secrets. */
export interface MailDkimKeyTable {
  domain: string;
  selector: string;
  private_sealed: string;
  /** base64 of the DER SubjectPublicKeyInfo: the `p=` of the DNS record. */
  public_key: string;
  created_at: number;
  updated_at: number;
}

/** Clients (limits' clientKey) where the admin token was right lately: exempt from the identity-wide backoff. */
export interface AdminKnownClientTable {
  client_key: string;
  last_ok_at: number;
}

declare module '../../platform/db/tables.js' {
  interface Database {
    admin_known_clients: AdminKnownClientTable;
    recipient_counts: RecipientCountTable;
    notice_messages: NoticeMessageTable;
    mail_blocklist: MailBlocklistTable;
    mail_dkim_keys: MailDkimKeyTable;
    campaigns: CampaignTable;
    recipients: RecipientTable;
    certificate_templates: CertificateTemplateTable;
    issued_certificates: IssuedCertificateTable;
    credential_keys: CredentialKeyTable;
  }
}
