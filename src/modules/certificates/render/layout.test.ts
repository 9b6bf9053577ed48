import { describe, expect, it } from 'vitest';
import { isPlaced, widthLimit } from './layout.js';
import { readFileSync } from 'node:fs';

describe('layout geometry shared by the renderer and the template editor', () => {
  it('is one implementation: the template editor re-exports these, it does not copy them', () => {
    // (web/ is outside this tsconfig, so the page module is read, not imported.)
    const page = readFileSync(new URL('../../../../web/admin/layout.ts', import.meta.url), 'utf8');
    expect(page).toMatch(/export \{ isPlaced, widthLimit \} from '\.\.\/\.\.\/src\/modules\/certificates\/render\/layout'/);
    expect(page).not.toMatch(/function widthLimit|const isPlaced|0\.02/);
  });

  it('limits a line to its max width, never past the template edge minus 2 %', () => {
    // 1000 px wide: a 20 px margin each side.
    expect(widthLimit(1000, 500, 'center')).toBe(960);
    expect(widthLimit(1000, 500, 'center', 300)).toBe(300);
    expect(widthLimit(1000, 100, 'left')).toBe(880);
    expect(widthLimit(1000, 100, 'right')).toBe(80);
    expect(widthLimit(1000, 10, 'right')).toBe(0);
    // What an editor's number input may hold while being typed: no limit from it.
    expect(widthLimit(1000, 500, 'center', null)).toBe(960);
    expect(widthLimit(1000, 500, 'center', 0)).toBe(960);
  });

  it('leaves out a field at a negative or non-finite position', () => {
    expect(isPlaced({ x: 0, y: 0 })).toBe(true);
    expect(isPlaced({ x: -1, y: 10 })).toBe(false);
    expect(isPlaced({ x: Number.NaN, y: 10 })).toBe(false);
  });
});
