/** Thin queries over `one_time_codes` (activation links, recovery codes, reset tickets). */
import type { Selectable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import type { OneTimeCodesTable } from './tables.js';
import './tables.js';

export type CodeRow = Selectable<OneTimeCodesTable>;
export type Purpose = 'activation' | 'recovery' | 'reset_ticket';

export function createCodesRepo(db: DB) {
  return {
    async insert(
      c: { purpose: Purpose; user_id: number | null; email: string | null; code_hash: string; expires_at: number },
      now: number,
      ex: Executor = db,
    ): Promise<number> {
      const r = await ex
        .insertInto('one_time_codes')
        .values({ ...c, tries: 0, used_at: null, created_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    },
    /** A link or ticket by its hash (whatever its state: the caller tells expired from used). */
    async byHash(purpose: Purpose, hash: string, ex: Executor = db): Promise<CodeRow | undefined> {
      return ex.selectFrom('one_time_codes').selectAll().where('code_hash', '=', hash).where('purpose', '=', purpose).executeTakeFirst();
    },
    /** The newest recovery code asked for an address. */
    async latestForEmail(purpose: Purpose, email: string, ex: Executor = db): Promise<CodeRow | undefined> {
      return ex
        .selectFrom('one_time_codes')
        .selectAll()
        .where('purpose', '=', purpose)
        .where('email', '=', email)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
    },
    /** Marks a code used if it still is unused; returns whether this call used it (single use under races). */
    async use(id: number, now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('one_time_codes')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /**
     * Reserves one try at a live code before it is compared, in one statement (atomic on both
     * dialects): the tries after it, or undefined when the code is used, expired or out of tries.
     */
    async reserveTry(id: number, maxTries: number, now: number, ex: Executor = db): Promise<number | undefined> {
      const r = await ex
        .updateTable('one_time_codes')
        .set((eb) => ({ tries: eb('tries', '+', 1) }))
        .where('id', '=', id)
        .where('tries', '<', maxTries)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('tries')
        .executeTakeFirst();
      return r ? Number(r.tries) : undefined;
    },
    /** Kills every unused code of a purpose for a user (e.g. older links once one is used). */
    async useAllOfUser(userId: number, purpose: Purpose, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('one_time_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .execute();
    },
    async deleteExpired(before: number, ex: Executor = db): Promise<number> {
      const r = await ex.deleteFrom('one_time_codes').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

export type CodesRepo = ReturnType<typeof createCodesRepo>;
