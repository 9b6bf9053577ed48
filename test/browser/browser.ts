/**
 * Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core, a
 * fresh profile per launch. A missing Chromium FAILS with the command that installs it (the
 * tests never skip silently).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './web-build.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(ROOT, 'test-output/screenshots');

/**
 * A fontconfig file that adds the Chinese font the service already ships (@embedpdf/fonts-sc,
 * used to render certificates) to the system's fonts: a machine without CJK fonts (this CI's)
 * would otherwise draw every Chinese word in the screenshots as empty boxes. Phones have their own.
 */
function fontConfig(profile: string): string | undefined {
  if (!existsSync('/etc/fonts/fonts.conf')) return undefined;
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('@embedpdf/fonts-sc')), '..', 'fonts');
  } catch {
    return undefined;
  }
  const file = join(profile, 'fonts.conf');
  writeFileSync(
    file,
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n` +
      `  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n  <dir>${dir}</dir>\n` +
      `  <cachedir>${join(profile, 'fontcache')}</cachedir>\n</fontconfig>\n`,
  );
  return file;
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Browser {
  context: BrowserContext;
  /**
   * Content-Security-Policy violations Chromium reported on any page of this browser (console
   * messages "Refused to ... because it violates ... Content Security Policy"). `close()` fails
   * when there are any, so every browser test also checks the pages' CSP (issue 10 item 13).
   */
  cspViolations: string[];
  newPage(opts?: { width?: number; height?: number; locale?: string }): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh user-data-dir; `locale` sets the browser language (Accept-Language, navigator.languages). */
export async function launchBrowser(opts: { locale?: string } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. The browser tests need it: apt-get install -y chromium (.ci/run installs it).`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'vh-chromium-'));
  const fonts = fontConfig(profile);
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, `--lang=${opts.locale ?? 'en-US'}`],
    locale: opts.locale ?? 'en-US',
    viewport: { width: 1280, height: 860 },
    acceptDownloads: true,
    ...(fonts ? { env: { ...process.env, FONTCONFIG_FILE: fonts } } : {}),
  });
  // Generous: the machine is shared; a real hang still fails well within the test timeout.
  context.setDefaultTimeout(30_000);
  const cspViolations: string[] = [];
  context.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy/i.test(text)) cspViolations.push(`${msg.page()?.url() ?? '?'}: ${text}`);
  });
  return {
    context,
    cspViolations,
    async newPage(p = {}) {
      const page = await context.newPage();
      if (p.width) await page.setViewportSize({ width: p.width, height: p.height ?? 800 });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (cspViolations.length) throw new Error(`Content-Security-Policy violations:\n${cspViolations.join('\n')}`);
    },
  };
}

/** Saves a full-page screenshot to test-output/screenshots/<name>.png (git-ignored). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
