/**
 * The address book. Invariant: a user with active addresses has exactly one default. Every write
 * is one transaction that first locks the user's row (PostgreSQL; SQLite serialises writers), so
 * concurrent writes for one user run one after the other; the partial unique index
 * `addresses_one_default` is the last guard. At most MAX_ADDRESSES active addresses per user.
 */
import type { SqliteFast } from '../../platform/db/sqlite-fast.js';
import type { DB, Dialect, Executor } from '../../platform/db/index.js';
import { isUniqueViolation } from '../../platform/db/index.js';
import { createAddressesRepo, type AddressFields, type AddressListRow } from './addresses-repo.js';
import { createUsersRepo } from './users-repo.js';
import { C, fail } from './errors.js';

export const MAX_ADDRESSES = 20;

/** One address as the seed's `addresslist` shows it (is_default is the string "True"/"False"). */
export interface AddressView {
  id: number;
  receiver: string;
  address: string;
  tag: string;
  receiver_mobile: string;
  receiver_phone: string;
  postcode: string;
  is_default: 'True' | 'False';
}

export function toView(r: AddressListRow): AddressView {
  return {
    id: Number(r.id),
    receiver: r.receiver,
    address: r.address,
    tag: r.tag,
    receiver_mobile: r.receiver_phone,
    receiver_phone: r.receiver_phone,
    postcode: r.postcode,
    is_default: r.is_default === 1 ? 'True' : 'False',
  };
}

export function createAddressService(deps: { db: DB; dialect: Dialect; now: () => number; fast?: SqliteFast }) {
  const repo = createAddressesRepo(deps.db, deps.fast);
  const users = createUsersRepo(deps.db);
  const { db, dialect, now } = deps;

  /** Runs `fn` in a transaction holding the user's lock; retries once if the default guard fired under a race. */
  async function write<T>(userId: number, fn: (trx: Executor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().execute(async (trx) => {
          await users.lockUser(userId, dialect, trx);
          return fn(trx);
        });
      } catch (err) {
        if (attempt < 3 && isUniqueViolation(err)) continue;
        if (isUniqueViolation(err)) throw fail(C.ADDRESS_STORE, 'the address book changed at the same time; try again');
        throw err;
      }
    }
  }

  async function list(userId: number, ex?: Executor): Promise<AddressView[]> {
    return (await repo.listActive(userId, ex)).map(toView);
  }

  /** The list as JSON text for the read route: built by SQLite where it can (addresses-repo.ts), else serialised here. */
  async function listJson(userId: number): Promise<string> {
    return repo.listActiveJson(userId) ?? JSON.stringify(await list(userId));
  }

  return {
    list,
    listJson,

    /** Adds an address; the first one becomes the default. */
    async add(userId: number, f: AddressFields): Promise<AddressView[]> {
      return write(userId, async (trx) => {
        const n = await repo.countActive(userId, trx);
        if (n >= MAX_ADDRESSES) throw fail(C.ADDRESS_STORE, `at most ${MAX_ADDRESSES} addresses; delete one first`);
        await repo.insert(userId, f, n === 0, now(), trx);
        return list(userId, trx);
      });
    },

    /** Changes some fields of one of the user's active addresses. */
    async update(userId: number, id: number, f: Partial<AddressFields>): Promise<AddressView[]> {
      return write(userId, async (trx) => {
        if (!(await repo.update(userId, id, f, now(), trx))) throw fail(C.ADDRESS_ID, 'no such address');
        return list(userId, trx);
      });
    },

    /** Soft-deletes; when it was the default, the newest other active address becomes the default. */
    async remove(userId: number, id: number): Promise<AddressView[]> {
      return write(userId, async (trx) => {
        const row = await repo.activeById(userId, id, trx);
        if (!row) throw fail(C.ADDRESS_ID, 'no such address');
        const t = now();
        await repo.softDelete(userId, id, t, trx);
        if (row.is_default === 1) {
          const next = await repo.newestActive(userId, trx);
          if (next) await repo.setDefault(userId, Number(next.id), t, trx);
        }
        return list(userId, trx);
      });
    },

    /** Makes one active address the default: clear then set, in one transaction. */
    async setDefault(userId: number, id: number): Promise<AddressView[]> {
      return write(userId, async (trx) => {
        if (!(await repo.activeById(userId, id, trx))) throw fail(C.ADDRESS_ID, 'no such address');
        const t = now();
        await repo.clearDefault(userId, t, trx);
        await repo.setDefault(userId, id, t, trx);
        return list(userId, trx);
      });
    },
  };
}

export type AddressService = ReturnType<typeof createAddressService>;
