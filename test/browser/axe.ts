/**
 * axe-core in the browser tests: the real engine (npm `axe-core`) evaluated in the page under
 * test, WCAG 2.1 A/AA rules and axe's best practices. Evaluated through the DevTools protocol
 * (page.evaluate), not a <script> tag, so the pages' Content-Security-Policy does not stand in
 * the way and no page has to allow anything for the test's sake.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { screenshot } from './browser.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string; summary: string }[];
}

/** Runs axe on the page as it is now; answers every violation. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: any[] }> } }).axe;
    const r = await axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n: any) => ({
        target: String(n.target.join(' ')),
        summary: String(n.failureSummary ?? '')
          .replace(/\s+/g, ' ')
          .slice(0, 300),
      })),
    }));
  });
}

/** Asserts axe finds no serious or critical violation on the page as it is now (`label` names the state). */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const bad = (await axeViolations(page)).filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const text = bad
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target}: ${n.summary}`).join('\n')}`)
    .join('\n');
  expect(bad.length, `axe on ${label} (${page.url()}):\n${text}`).toBe(0);
}

/** Screenshots of the page as it is at a phone's width (360 px) and a laptop's (1366 px). */
export async function shotBoth(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  for (const width of [360, 1366]) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 860 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await screenshot(page, `${name}-${width}`);
  }
  if (before) await page.setViewportSize(before);
}
