import { describe, expect, it } from 'vitest';
import { createClaimBatcher, type ClaimRow, type DefaultMark } from './claim-batcher.js';

const row = (msg: string): ClaimRow => ({ account_key: 'a1', msg_key: msg, answer: '{}', created_at: 1 });

describe('claim batcher (group commit of the webhook dedupe records)', () => {
  it("writes one turn's claims and their default-reply times in one call; a key's first claim wins", async () => {
    const calls: { rows: ClaimRow[]; marks: readonly (DefaultMark | undefined)[] }[] = [];
    const batcher = createClaimBatcher({
      async recordMessages(rows, marks) {
        calls.push({ rows, marks });
        return new Set(rows.map((r) => `${r.account_key}\n${r.msg_key}`));
      },
    });
    const mark = (openid: string): DefaultMark => ({ accountId: 1, openid, at: 5 });
    const results = await Promise.all([
      batcher.claim(row('m:1'), mark('o1')),
      batcher.claim(row('m:2')),
      // The same message again in the same turn (a retry racing the first delivery): not first,
      // and its default-reply mark is not written.
      batcher.claim(row('m:1'), mark('o1-retry')),
      batcher.claim(row('m:3'), mark('o3')),
    ]);
    expect(results).toEqual([true, true, false, true]);
    // One write for the whole turn: the default-reply times ride in the claims' commit instead of
    // one commit each.
    expect(calls).toHaveLength(1);
    expect(calls[0]!.rows.map((r) => r.msg_key)).toEqual(['m:1', 'm:2', 'm:3']);
    expect(calls[0]!.marks).toEqual([mark('o1'), undefined, mark('o3')]);
  });

  it('answers false for a key already recorded, and rejects every claim of a failed write', async () => {
    let fail = false;
    const batcher = createClaimBatcher({
      async recordMessages(rows) {
        if (fail) throw new Error('disk full');
        return new Set(rows.filter((r) => r.msg_key !== 'm:old').map((r) => `${r.account_key}\n${r.msg_key}`));
      },
    });
    expect(await Promise.all([batcher.claim(row('m:old')), batcher.claim(row('m:new'))])).toEqual([false, true]);
    fail = true;
    const failed = await Promise.allSettled([batcher.claim(row('m:a')), batcher.claim(row('m:b'))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
