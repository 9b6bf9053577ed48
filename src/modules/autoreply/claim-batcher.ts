/**
 * Group commit for the webhook's dedupe records. Every message WeChat sends is recorded (so a
 * retry is answered as the first delivery was); one INSERT per message made that write the
 * webhook's main cost (each autocommit is a WAL append on SQLite, a round trip on PostgreSQL).
 * Claims made within one turn of the event loop go out as one multi-row
 * `INSERT ... ON CONFLICT DO NOTHING RETURNING`, which still tells each caller whether its row was
 * the one inserted. Within a batch the first claim of a key wins; a later one is a retry.
 *
 * A claim may carry a default-reply mark (the follower got the account's default reply): it is
 * written in the same transaction, for the rows inserted only. It used to be one more autocommit
 * per default reply after the claim (bare better-sqlite3, WAL: ~30-40 us of CPU per commit, most
 * of it in the kernel, against ~2-7 us per row inside a batch), and a crash between the two left
 * a message recorded as answered with a default reply whose time was never kept.
 */
import { messageKey, type ClaimRow, type DefaultMark, type WechatRepo } from './wechat-repo.js';

export type { ClaimRow, DefaultMark };

const MAX_ROWS = 500;

interface Pending {
  row: ClaimRow;
  mark: DefaultMark | undefined;
  resolve: (first: boolean) => void;
  reject: (err: unknown) => void;
}

export function createClaimBatcher(repo: Pick<WechatRepo, 'recordMessages'>) {
  let pending: Pending[] = [];
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = pending;
    pending = [];
    const owner = new Map<string, Pending>();
    const keys: string[] = [];
    for (const p of batch) {
      const k = messageKey(p.row);
      keys.push(k);
      if (!owner.has(k)) owner.set(k, p);
    }
    const owners = [...owner.values()];
    try {
      const inserted = new Set<string>();
      for (let i = 0; i < owners.length; i += MAX_ROWS) {
        const chunk = owners.slice(i, i + MAX_ROWS);
        const got = await repo.recordMessages(
          chunk.map((p) => p.row),
          chunk.map((p) => p.mark),
        );
        for (const k of got) inserted.add(k);
      }
      batch.forEach((p, i) => p.resolve(owner.get(keys[i]) === p && inserted.has(keys[i])));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  return {
    /**
     * Records the message unless it is recorded already; true for its first delivery. `mark`, the
     * default reply this message got, is kept in the same commit when it is the first delivery.
     */
    claim(row: ClaimRow, mark?: DefaultMark): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        pending.push({ row, mark, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
