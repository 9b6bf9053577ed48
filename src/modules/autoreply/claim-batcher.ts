/**
 * Group commit for the webhook's dedupe records. Every message WeChat sends is recorded (so a
 * retry is answered as the first delivery was); one INSERT per message made that write the
 * webhook's main cost (each autocommit is a WAL append on SQLite, a round trip on PostgreSQL).
 * Claims made within one turn of the event loop go out as one multi-row
 * `INSERT ... ON CONFLICT DO NOTHING RETURNING`, which still tells each caller whether its row was
 * the one inserted. Within a batch the first claim of a key wins; a later one is a retry.
 */
import type { WechatRepo } from './wechat-repo.js';

const MAX_ROWS = 500;

export interface ClaimRow {
  account_key: string;
  msg_key: string;
  answer: string | null;
  created_at: number;
}

interface Pending {
  row: ClaimRow;
  resolve: (first: boolean) => void;
  reject: (err: unknown) => void;
}

export function createClaimBatcher(repo: Pick<WechatRepo, 'claimMessages'>) {
  let pending: Pending[] = [];
  let scheduled = false;

  async function flush(): Promise<void> {
    scheduled = false;
    const batch = pending;
    pending = [];
    const owner = new Map<string, Pending>();
    for (const p of batch) {
      const k = `${p.row.account_key}\n${p.row.msg_key}`;
      if (!owner.has(k)) owner.set(k, p);
    }
    const rows = [...owner.values()].map((p) => p.row);
    try {
      const inserted = new Set<string>();
      for (let i = 0; i < rows.length; i += MAX_ROWS)
        for (const k of await repo.claimMessages(rows.slice(i, i + MAX_ROWS))) inserted.add(k);
      for (const p of batch) {
        const k = `${p.row.account_key}\n${p.row.msg_key}`;
        p.resolve(owner.get(k) === p && inserted.has(k));
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  return {
    /** Records the message unless it is recorded already; true for its first delivery. */
    claim(row: ClaimRow): Promise<boolean> {
      return new Promise<boolean>((resolve, reject) => {
        pending.push({ row, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => void flush());
        }
      });
    },
  };
}
