/** Table types of the autoreply module, added to the shared Database by module augmentation. */
import type { Generated } from 'kysely';

export interface RuleSetTable {
  id: Generated<number>;
  kind: 'member' | 'account';
  user_id: number;
  enabled: number;
  follow_reply: string | null;
  default_reply: string | null;
  next_position: number;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface RuleTable {
  id: Generated<number>;
  rule_set_id: number;
  position: number;
  mode: 'all' | 'random';
  /** Optional, for people (4003). */
  name: string | null;
  /** UTF-8 bytes of the name, keywords and replies (4004), for the per-member cap. */
  bytes: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface RuleKeywordTable {
  id: Generated<number>;
  rule_id: number;
  rule_set_id: number;
  text: string;
  norm: string;
  match: 'equal' | 'contains';
}

export interface RuleReplyTable {
  id: Generated<number>;
  rule_id: number;
  position: number;
  /** The text, or for image and news replies their one-line summary (replies.ts). */
  text: string;
  kind: Generated<'text' | 'image' | 'news'>;
  /** JSON of an image's media_id or a news article (replies.ts toRow). */
  data: string | null;
}

export interface MpAccountTable {
  id: Generated<number>;
  user_id: number;
  rule_set_id: number;
  callback_id: string;
  appid: string;
  name: string | null;
  secret_sealed: string;
  token_sealed: string;
  aes_key_sealed: string | null;
  verified_at: number | null;
  created_at: number;
}

/** Keyed by (account_key, msg_key); SQLite's rowid `id` is not in the type (migration 4011). */
export interface ProcessedMessageTable {
  account_key: string;
  msg_key: string;
  answer: string | null;
  created_at: number;
}

export interface DefaultReplyTable {
  account_id: number;
  openid: string;
  last_at: number;
}

export interface WechatBindingTable {
  id: Generated<number>;
  appid: string;
  openid: string;
  user_id: number;
  created_at: number;
}

export interface RegistrationCodeTable {
  id: Generated<number>;
  code_hash: string;
  appid: string;
  openid: string;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface QrRequestTable {
  id: Generated<number>;
  pid: string;
  scene_hash: string;
  user_id: number;
  state: 'pending' | 'ready' | 'failed' | 'used';
  png: Buffer | null;
  expires_at: number;
  created_at: number;
}

export interface AccessTokenTable {
  appid: string;
  token_sealed: string | null;
  expires_at: Generated<number>;
  lease_owner: string | null;
  lease_until: Generated<number>;
}

declare module '../../platform/db/tables.js' {
  interface Database {
    ar_rule_sets: RuleSetTable;
    ar_rules: RuleTable;
    ar_rule_keywords: RuleKeywordTable;
    ar_rule_replies: RuleReplyTable;
    mp_accounts: MpAccountTable;
    ar_processed_messages: ProcessedMessageTable;
    ar_default_replies: DefaultReplyTable;
    ar_wechat_bindings: WechatBindingTable;
    ar_registration_codes: RegistrationCodeTable;
    ar_qr_requests: QrRequestTable;
    ar_access_tokens: AccessTokenTable;
  }
}
