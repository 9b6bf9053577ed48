/** Request ids (src/platform/http/request-id.ts): version 4 UUIDs as crypto.randomUUID writes them. */
import { describe, expect, it } from 'vitest';
import { requestId } from '../../src/platform/http/request-id.js';

describe('requestId', () => {
  it('is a random version 4 UUID in crypto.randomUUID form, a new one each time', () => {
    const seen = new Set<string>();
    const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    // Over several batches of random bytes (256 ids each).
    for (let i = 0; i < 5000; i++) {
      const id = requestId();
      expect(id).toMatch(shape);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
    // Every hex digit turns up in every free position (no position stuck).
    const ids = [...seen];
    for (let p = 0; p < 36; p++) {
      if ([8, 13, 18, 23, 14, 19].includes(p)) continue;
      expect(new Set(ids.map((id) => id[p])).size, `position ${p}`).toBe(16);
    }
    expect(new Set(ids.map((id) => id[19]))).toEqual(new Set(['8', '9', 'a', 'b']));
  });
});
