/**
 * Chromium from Debian (/usr/bin/chromium, installed by scripts/ensure-test-deps.sh) driven by
 * playwright-core, screenshots kept under test-artifacts/web/ for people to look at, and the
 * page helpers the UI tests share.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const artifacts = join(import.meta.dirname, '..', '..', 'test-artifacts', 'web');

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(artifacts, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
    ],
  });
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: false });
}

/** Waits for a value, generously: the machine is loaded by other tests. */
export const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 30_000 });

/** The text on the visible terminal's screen, as xterm's DOM renderer shows it. */
export async function screenText(page: Page): Promise<string> {
  return page.locator('.term-panel:not([hidden]) .xterm-rows').innerText();
}

export async function typeInTerminal(page: Page, text: string): Promise<void> {
  await page.locator('.term-panel:not([hidden]) .xterm-helper-textarea').focus();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}
