/**
 * The miniprogram module's tables, added to the shared Database type by module augmentation.
 * Times are integer milliseconds; see migrations.ts for indexes and why the tables look this way.
 */
import type { Generated } from 'kysely';

/** One row per openid: the seed's data model. */
export interface MiniprogramProfileTable {
  id: Generated<number>;
  openid: string;
  phone: string;
  qq: string;
  cardno: string;
  /** '' when not given (the seed's model says string). */
  wxid: string;
  created_at: number;
  modified_at: number;
}

/** A session issued by getOpenid (or by a legacy login in trust mode). */
export interface MiniprogramSessionTable {
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  token_hash: string;
  openid: string;
  /** WeChat's session_key sealed with core.secrets; null for sessions issued in trust mode. */
  session_key: string | null;
  created_at: number;
  expires_at: number;
}

/** Search history as one JSON array per openid (newest first), as the seed keeps it. */
export interface MiniprogramHistoryTable {
  openid: string;
  items: string;
  /** Optimistic concurrency: a write succeeds only on the version it read. */
  version: number;
  updated_at: number;
}

declare module '../../platform/db/tables.js' {
  interface Database {
    miniprogram_profiles: MiniprogramProfileTable;
    miniprogram_sessions: MiniprogramSessionTable;
    miniprogram_history: MiniprogramHistoryTable;
  }
}
