/**
 * The mini-program user API's rules: registration (idempotent per openid), profile read and
 * update, search history. Every call first proves the openid with a session token (sessions.ts)
 * unless trust mode (MINIPROGRAM_TRUST_CLIENT_OPENID) is on; nothing is read or changed before.
 */
import { illegal, MpError } from './errors.js';
import { MAX_HIST_CHARS, parseParams, updateFields } from './params.js';
import { presentProfile, type ProfileView } from './present.js';
import type { MiniprogramRepo, ProfileFields } from './repo.js';
import type { SessionService } from './sessions.js';

export const MAX_HISTORY = 50;
// Each round of concurrent writers lets one through, so N writers need at most N - 1 retries: 50
// same-user writes at one moment is far beyond what one person searching can cause.
const HISTORY_WRITE_TRIES = 50;

export interface MiniprogramServiceDeps {
  repo: MiniprogramRepo;
  sessions: SessionService;
  now: () => number;
  formatTime: (ms: number) => string;
  /** Legacy mode: believe the openid the client sends, no token needed. */
  trustClientOpenid: boolean;
}

export interface Caller {
  openid: string;
  /** The session token, from the token parameter or the Authorization header. */
  token?: string;
}

export interface LoginInput extends Caller {
  phone: string;
  qq: string;
  cardno: string;
  wxid?: string;
}

/** Builds the service. */
export function createMiniprogramService(deps: MiniprogramServiceDeps) {
  const { repo, sessions, now, formatTime: fmt } = deps;
  const trust = deps.trustClientOpenid;

  /** Proves the caller's openid (one indexed lookup); no-op in trust mode. */
  async function authenticate(c: Caller): Promise<void> {
    if (trust) return;
    sessions.check(await repo.findSession(sessions.hashOf(c.token)), c.openid);
  }

  /** The caller's profile, proving the openid in the same lookup. */
  async function profileOf(c: Caller) {
    if (trust) return repo.findProfile(c.openid);
    const s = await repo.findSessionWithProfile(sessions.hashOf(c.token));
    sessions.check(s, c.openid);
    return s!.profile;
  }

  /** The caller's history row, proving the openid in the same lookup. */
  async function historyOf(c: Caller) {
    if (trust) return repo.findHistory(c.openid);
    const s = await repo.findSessionWithHistory(sessions.hashOf(c.token));
    sessions.check(s, c.openid);
    return s!.history;
  }

  /** The token a login answers: the caller's own, or (trust mode) a new one. */
  async function tokenFor(c: Caller): Promise<string> {
    return trust ? sessions.issue(c.openid, null) : c.token!;
  }

  return {
    /** Registers the openid (or finds it registered) and answers the profile plus the token. */
    async login(input: LoginInput): Promise<ProfileView & { token: string }> {
      await authenticate(input);
      const t = now();
      await repo.insertProfileIfAbsent({
        openid: input.openid,
        phone: input.phone,
        qq: input.qq,
        cardno: input.cardno,
        wxid: input.wxid ?? '',
        created_at: t,
        modified_at: t,
      });
      const p = await repo.findProfile(input.openid);
      if (!p) throw new MpError(-2, 'the user could not be registered; try again');
      return { ...presentProfile(p, fmt), token: await tokenFor(input) };
    },

    /** The registered profile plus the token; -2 "call login" when the openid is not registered. */
    async loginByOpenid(c: Caller): Promise<ProfileView & { token: string }> {
      const p = await profileOf(c);
      if (!p) throw new MpError(-2, 'no user with this openid; call login to register');
      return { ...presentProfile(p, fmt), token: await tokenFor(c) };
    },

    /** The profile; -4 when the openid is not registered. */
    async get(c: Caller): Promise<ProfileView> {
      const p = await profileOf(c);
      if (!p) throw new MpError(-4, 'no user with this openid');
      return presentProfile(p, fmt);
    },

    /**
     * Changes phone, qq, cardno and/or wxid from `update` (a JSON string, or the object itself in a
     * JSON body): -3 not JSON, -4 JSON but not an object, -1 unknown fields or bad values,
     * -2 not registered. Answers [] as the seed shows.
     */
    async update(c: Caller, update: string | Record<string, unknown> | unknown[]): Promise<[]> {
      // The token first: a caller without one learns -1 and nothing about what `update` held.
      await authenticate(c);
      let value: unknown = update;
      if (typeof update === 'string') {
        try {
          value = JSON.parse(update);
        } catch {
          throw new MpError(-3, 'update is not valid JSON (expected e.g. {"phone":"13333333333"})');
        }
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new MpError(-4, 'update must be a JSON object of the fields to change');
      }
      const patch: Partial<ProfileFields> = parseParams(updateFields, value);
      if (Object.keys(patch).length === 0) throw illegal('update names no field to change (phone, qq, cardno, wxid)');
      const changed = await repo.updateProfile(c.openid, patch, now());
      if (changed === 0) throw new MpError(-2, 'no user with this openid; call login to register');
      return [];
    },

    /** Puts `hist` first (moving it if present), keeps 50; answers the list, newest first. */
    async addHistory(c: Caller, hist: string): Promise<string[]> {
      if ([...hist].length > MAX_HIST_CHARS) throw illegal(`hist must be at most ${MAX_HIST_CHARS} characters`);
      let row = await historyOf(c);
      for (let i = 0; i < HISTORY_WRITE_TRIES; i++) {
        const before = row ? parseItems(row.items) : [];
        const items = [hist, ...before.filter((h) => h !== hist)].slice(0, MAX_HISTORY);
        const json = JSON.stringify(items);
        const written = row
          ? await repo.updateHistory(c.openid, json, row.version, now())
          : await repo.insertHistory(c.openid, json, now());
        if (written) return items;
        // Another request for this openid wrote in between: start again from what it wrote.
        row = await repo.findHistory(c.openid);
      }
      throw new MpError(-2, 'the history is being changed by another request; try again');
    },

    async getHistory(c: Caller): Promise<string[]> {
      const row = await historyOf(c);
      return row ? parseItems(row.items) : [];
    },

    async cleanHistory(c: Caller): Promise<[]> {
      await authenticate(c);
      await repo.deleteHistory(c.openid);
      return [];
    },
  };
}

export type MiniprogramService = ReturnType<typeof createMiniprogramService>;

function parseItems(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
