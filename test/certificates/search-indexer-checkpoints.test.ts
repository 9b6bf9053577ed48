/**
 * The search indexer catching up on a large import (SQLite, a file database) writes the trigram
 * table's pages by the thousand: meanwhile the WAL checkpoints run on a worker thread
 * (platform/db/bulk-writes.ts), not inside a batch's commit on the event loop, and the automatic
 * checkpoint is back when it is done (issue 15: the list and searches wait behind the indexer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { searchIndexerFor } from '../../src/modules/certificates/search-indexer.js';
import { ADMIN, v2Api } from './helpers.js';

describe('search indexer checkpoints on sqlite', () => {
  let t: TestApp;
  const api = v2Api(() => t, '');
  beforeAll(async () => {
    t = await startTestApp({ dialect: 'sqlite', startJobs: false });
  }, 60_000);
  afterAll(async () => t?.close());

  it('checkpoint on a worker during a long catch-up, and restore the automatic checkpoint', async () => {
    const sqlite = t.core.handle.sqlite!;
    expect(t.core.handle.reader, 'a file database').toBeTruthy();
    expect((await api('POST', '/api/v2/certificates/campaigns', { name: 'Ix', slug: 'ix' })).status).toBe(201);
    const r = await api('POST', '/api/addUserData', {
      token: ADMIN,
      campaign: 'ix',
      email: Array.from({ length: 12_000 }, (_, i) => `ix${i}@example.org,N${i},Name ${i}`),
    });
    expect(r.json().data.added).toBe(12_000);
    const auto = sqlite.pragma('wal_autocheckpoint', { simple: true });
    expect(auto).toBeGreaterThan(0);
    const seen = new Set<unknown>();
    let done = false;
    const sample = async () => {
      while (!done) {
        seen.add(sqlite.pragma('wal_autocheckpoint', { simple: true }));
        await new Promise((res) => setImmediate(res));
      }
    };
    const sampling = sample();
    const indexed = await searchIndexerFor(t.core.handle)!.drain();
    done = true;
    await sampling;
    expect(indexed).toBeGreaterThanOrEqual(12_000);
    expect(seen.has(0), `autocheckpoint values seen: ${[...seen].join(', ')}`).toBe(true);
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBe(auto);
    const found = await api('GET', `/api/v2/certificates/campaigns/ix/recipients?q=${encodeURIComponent('ix11999@')}`);
    expect(found.json().items.map((i: { email: string }) => i.email)).toEqual(['ix11999@example.org']);
  });
});
