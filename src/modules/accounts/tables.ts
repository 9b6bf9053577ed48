/**
 * Row types of the accounts tables, added to the shared `Database` by module augmentation.
 * `users` and `sessions` are shared by every module that has members (accounts, auto-reply):
 * other modules use them only through `createAccountsService` (service.ts).
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: Generated<number>;
  /** Unique, exactly as registered (3..30 of letters, digits, `_`, `.`, `-`). */
  username: string;
  /** Lower-cased; unique; null for members who came in another way (e.g. WeChat only). */
  email: string | null;
  /** argon2id PHC string; null when the member has no password (cannot log in by password). */
  password_hash: string | null;
  /** 0 until the activation link is used (or a password reset proves the mailbox). */
  is_active: number;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  id: Generated<number>;
  /** SHA-256 (hex) of the bearer token; the token itself is never stored. */
  token_hash: string;
  user_id: number;
  /** Who issued it: 'web' (accounts), or another module's own kind (e.g. 'autoreply'). */
  kind: string;
  expires_at: number;
  created_at: number;
  /** Touched at most every few minutes, so reads stay reads. */
  last_seen_at: number;
}

export interface OneTimeCodesTable {
  id: Generated<number>;
  /** 'activation' | 'recovery' | 'reset_ticket'. */
  purpose: string;
  /** Null for a recovery code asked for an address with no account (kept so answers look the same). */
  user_id: number | null;
  /** Lower-cased address the code was asked for (recovery codes). */
  email: string | null;
  /** SHA-256 of a 256-bit token, or a keyed HMAC of a 6-digit code. */
  code_hash: string;
  /** Wrong guesses so far (recovery codes die at 5). */
  tries: number;
  expires_at: number;
  used_at: number | null;
  created_at: number;
}

export interface AddressesTable {
  id: Generated<number>;
  user_id: number;
  receiver: string;
  address: string;
  tag: string;
  receiver_phone: string;
  postcode: string;
  /** 1 for the user's one default among active rows (a partial unique index guards it). */
  is_default: number;
  /** 0 once deleted (soft delete, as the seed says). */
  is_active: number;
  created_at: number;
  updated_at: number;
}

declare module '../../platform/db/tables.js' {
  interface Database {
    users: UsersTable;
    sessions: SessionsTable;
    one_time_codes: OneTimeCodesTable;
    addresses: AddressesTable;
  }
}
