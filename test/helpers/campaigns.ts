/** Campaign rows written straight into the database, for tests that set up their recipients by hand. */
import type { DB } from '../../src/platform/db/index.js';

/** Inserts a campaign (its name defaults to its slug) and answers its id. */
export async function insertCampaign(db: DB, slug: string, name = slug, now = Date.now()): Promise<number> {
  const r = await db
    .insertInto('campaigns')
    .values({ slug, name, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}
