/** addHistory, getHistory, cleanHistory: order, moves, limits, tokens, bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from '../helpers/db.js';
import { startMpApp, type MpTestApp } from './helpers.js';

describe.each(testDialects())('miniprogram search history (%s)', (dialect) => {
  let t: MpTestApp;
  beforeAll(async () => {
    t = await startMpApp(dialect);
  });
  afterAll(async () => t?.close());

  it('keeps the newest first, moves a repeat to the front, answers the list', async () => {
    const tok = await t.openSession('oHist');
    const add = (hist: unknown) => t.post('addHistory', { openid: 'oHist', token: tok, hist });
    expect(await add('volunteer')).toEqual({ code: 0, msg: 'success', data: ['volunteer'] });
    expect((await add('library')).data).toEqual(['library', 'volunteer']);
    expect((await add('支教')).data).toEqual(['支教', 'library', 'volunteer']);
    expect((await add('volunteer')).data).toEqual(['volunteer', '支教', 'library']);
    expect(await t.post('getHistory', { openid: 'oHist', token: tok })).toEqual({
      code: 0,
      msg: 'success',
      data: ['volunteer', '支教', 'library'],
    });
    // Form body too.
    expect((await t.postForm('addHistory', { openid: 'oHist', token: tok, hist: 'form term' })).data[0]).toBe('form term');
    expect(await t.post('cleanHistory', { openid: 'oHist', token: tok })).toEqual({ code: 0, msg: 'success', data: [] });
    expect((await t.post('getHistory', { openid: 'oHist', token: tok })).data).toEqual([]);
  });

  it('keeps at most 50 entries, the oldest dropped', async () => {
    const tok = await t.openSession('oHist50');
    let last: any;
    for (let i = 1; i <= 53; i++) last = await t.post('addHistory', { openid: 'oHist50', token: tok, hist: `term ${i}` });
    expect(last.data).toHaveLength(50);
    expect(last.data[0]).toBe('term 53');
    expect(last.data[49]).toBe('term 4');
  });

  it('concurrent adds for one openid lose nothing', async () => {
    const tok = await t.openSession('oHistRace');
    const rs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.post('addHistory', { openid: 'oHistRace', token: tok, hist: `c${i}` })),
    );
    expect(rs.every((r) => r.code === 0)).toBe(true);
    const list = (await t.post('getHistory', { openid: 'oHistRace', token: tok })).data;
    expect([...list].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
  });

  it('rejects entries over 100 characters, empty or of the wrong type with -1; nothing changes', async () => {
    const tok = await t.openSession('oHistBad');
    await t.post('addHistory', { openid: 'oHistBad', token: tok, hist: 'keep me' });
    expect((await t.post('addHistory', { openid: 'oHistBad', token: tok, hist: '字'.repeat(100) })).code).toBe(0);
    for (const hist of ['字'.repeat(101), 'x'.repeat(10_240), '', '   ', ['a'], { a: 1 }, true, null, 'a\u0000b', undefined]) {
      const r = await t.post('addHistory', { openid: 'oHistBad', token: tok, hist });
      expect(r.code, JSON.stringify(hist)?.slice(0, 30)).toBe(-1);
    }
    expect((await t.post('getHistory', { openid: 'oHistBad', token: tok })).data).toEqual(['字'.repeat(100), 'keep me']);
    // An unknown parameter is ignored (issue 12: the seed's clients send extra ones).
    expect((await t.post('addHistory', { openid: 'oHistBad', token: tok, hist: 'x', tag: 'y' })).data).toEqual([
      'x',
      '字'.repeat(100),
      'keep me',
    ]);
  });

  it('needs the token of that openid for every history call; nothing is read or changed', async () => {
    const owner = await t.openSession('oHistOwner');
    const thief = await t.openSession('oHistThief');
    await t.post('addHistory', { openid: 'oHistOwner', token: owner, hist: 'private' });
    for (const name of ['addHistory', 'getHistory', 'cleanHistory']) {
      for (const cred of [{}, { token: thief }]) {
        const r = await t.post(name, { openid: 'oHistOwner', hist: 'injected', ...cred });
        expect(r.code, `${name} ${JSON.stringify(cred)}`).toBe(-1);
        expect(JSON.stringify(r)).not.toContain('private');
      }
    }
    expect((await t.post('getHistory', { openid: 'oHistOwner', token: owner })).data).toEqual(['private']);
    // The Bearer header works as well as the parameter.
    expect((await t.post('getHistory', { openid: 'oHistOwner' }, { authorization: `Bearer ${owner}` })).data).toEqual(['private']);
  });
});
