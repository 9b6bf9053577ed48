/**
 * The import's line checks (import-lines.ts, import-columns.ts), pinned where the per-line work
 * was cut for 1,000,000-volunteer imports (issue 15): a control character is refused in any
 * cell (a split line is tested whole first), a line's trailing `\r` goes, a neutralised formula
 * reads back, `Name <email>` is read only as such.
 */
import { describe, expect, it } from 'vitest';
import { parseLines, parseRowsAsync } from '../../src/modules/certificates/import-lines.js';

const reasons = (lines: string[]) => parseLines(lines).rejected.map((r) => [r.lineNo, r.reason]);

describe('import line checks', () => {
  it('refuses a control character in any cell, quoted or not, and keeps clean lines', () => {
    const lines = [
      'a@example.org,N1,Ann',
      'b\u0007@example.org,N2,Bo',
      'c@example.org,N\u00003,Cy',
      'd@example.org,N4,D\u2028i',
      'e@example.org,"N5\u001f",Ed',
      'f@example.org,N6,"Fa\u0085y"',
      'g@example.org,N7,"Gu, \u007fGo"',
      'h@example.org,N8,Hal',
    ];
    expect(reasons(lines)).toEqual([2, 3, 4, 5, 6, 7].map((n) => [n, 'control characters are not allowed']));
    expect(parseLines(lines).valid.map((v) => v.email)).toEqual(['a@example.org', 'h@example.org']);
  });

  it('refuses a control character in rows that are not split from their line (files)', async () => {
    // An XLSX row: the cells are the truth, the line only what reports show.
    const out = await parseRowsAsync([{ lineNo: 1, line: 'x@example.org,N1,Xu', cells: ['x@example.org', 'N1', 'X\u0001u'] }], null);
    expect(out.rejected.map((r) => r.reason)).toEqual(['control characters are not allowed']);
  });

  it('drops a trailing carriage return only, reads neutralised formulas and Name <email>', () => {
    const out = parseLines([
      'a@example.org,N1,Ann\r',
      "b@example.org,'=1+2,'-Bo",
      "c@example.org,'x,Cy",
      'Zhao Liu <zhao@example.org>',
      '"Qian, Li" <qian@example.org>,N5',
      'sun@example.org,N6,Sun <Sun>',
      'li<@example.org',
    ]);
    expect(out.valid.map((v) => [v.email, v.number, v.name])).toEqual([
      ['a@example.org', 'N1', 'Ann'],
      ['b@example.org', '=1+2', '-Bo'],
      ['c@example.org', "'x", 'Cy'],
      ['zhao@example.org', null, 'Zhao Liu'],
      ['qian@example.org', 'N5', 'Qian, Li'],
      ['sun@example.org', 'N6', 'Sun <Sun>'],
    ]);
    expect(out.rejected.map((r) => [r.lineNo, r.reason])).toEqual([[7, 'not a valid email address']]);
    expect(parseLines(['a@example.org,N1,Ann\r\r']).rejected.map((r) => r.reason)).toEqual(['control characters are not allowed']);
  });
});
