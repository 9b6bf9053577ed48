/** Thin queries over `addresses`; the default invariant is kept by addresses.ts in transactions. */
import type { Selectable } from 'kysely';
import type { DB, Executor } from '../../platform/db/index.js';
import { sqliteFast, type SqliteFast } from '../../platform/db/sqlite-fast.js';
import type { AddressesTable } from './tables.js';
import './tables.js';

export type AddressRow = Selectable<AddressesTable>;
export interface AddressFields {
  receiver: string;
  address: string;
  tag: string;
  receiver_phone: string;
  postcode: string;
}

const listColumns = ['id', 'receiver', 'address', 'tag', 'receiver_phone', 'postcode', 'is_default', 'created_at'] as const;
export type AddressListRow = Pick<AddressRow, (typeof listColumns)[number]>;

function listActiveQuery(ex: Executor, userId: number) {
  return ex
    .selectFrom('addresses')
    .select(listColumns)
    .where('user_id', '=', userId)
    .where('is_active', '=', 1)
    .orderBy('is_default', 'desc')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc');
}

/**
 * The list as the seed's `addresslist` JSON, built by SQLite itself (same fields and order as
 * addresses.ts `toView`): one string crosses into JavaScript instead of 5 x 8 values that are then
 * mapped and serialised again. It is the body of the most frequent request.
 */
const LIST_JSON_SQL = `select json_group_array(json_object(
    'id', id, 'receiver', receiver, 'address', address, 'tag', tag,
    'receiver_mobile', receiver_phone, 'receiver_phone', receiver_phone, 'postcode', postcode,
    'is_default', case when is_default = 1 then 'True' else 'False' end))
  from (select * from addresses where user_id = ? and is_active = 1
        order by is_default desc, created_at desc, id desc)`;

/**
 * `fast` (the handle's sqliteFast): on SQLite with a read-only connection, the list outside
 * transactions is a statement prepared once there.
 */
export function createAddressesRepo(db: DB, fast: SqliteFast = sqliteFast({ db })) {
  // Parameters in placeholder order: user_id, is_active (always 1).
  const fastList = fast.query(listActiveQuery(db, 0), 2, { on: 'reader-only' }).sqlite;
  const listJson = fast.statement<[number], string>(LIST_JSON_SQL, { on: 'reader-only', pluck: true });
  return {
    /** SQLite with a reader only: the active list as JSON text (see LIST_JSON_SQL); undefined elsewhere. */
    listActiveJson(userId: number): string | undefined {
      return listJson?.get(userId);
    },
    /** A user's active addresses, default first, then newest first (index: user_id, is_active). */
    async listActive(userId: number, ex: Executor = db): Promise<AddressListRow[]> {
      if (fastList && ex === db) return fastList.all([userId, 1]);
      return listActiveQuery(ex, userId).execute();
    },
    async countActive(userId: number, ex: Executor = db): Promise<number> {
      const r = await ex
        .selectFrom('addresses')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('is_active', '=', 1)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async activeById(userId: number, id: number, ex: Executor = db): Promise<AddressRow | undefined> {
      return ex
        .selectFrom('addresses')
        .selectAll()
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('is_active', '=', 1)
        .executeTakeFirst();
    },
    async insert(userId: number, f: AddressFields, isDefault: boolean, now: number, ex: Executor = db): Promise<number> {
      const r = await ex
        .insertInto('addresses')
        .values({ ...f, user_id: userId, is_default: isDefault ? 1 : 0, is_active: 1, created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    },
    async update(userId: number, id: number, f: Partial<AddressFields>, now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('addresses')
        .set({ ...f, updated_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('is_active', '=', 1)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async softDelete(userId: number, id: number, now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('addresses')
        .set({ is_active: 0, is_default: 0, updated_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('is_active', '=', 1)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async clearDefault(userId: number, now: number, ex: Executor = db): Promise<void> {
      await ex
        .updateTable('addresses')
        .set({ is_default: 0, updated_at: now })
        .where('user_id', '=', userId)
        .where('is_default', '=', 1)
        .execute();
    },
    async setDefault(userId: number, id: number, now: number, ex: Executor = db): Promise<boolean> {
      const r = await ex
        .updateTable('addresses')
        .set({ is_default: 1, updated_at: now })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .where('is_active', '=', 1)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    /** The newest active address (the one promoted when the default is deleted). */
    async newestActive(userId: number, ex: Executor = db): Promise<{ id: number } | undefined> {
      return ex
        .selectFrom('addresses')
        .select('id')
        .where('user_id', '=', userId)
        .where('is_active', '=', 1)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
    },
  };
}

export type AddressesRepo = ReturnType<typeof createAddressesRepo>;
