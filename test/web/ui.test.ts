/**
 * The web UI in a real Chromium against a real Kloud serving it (local provider, real Klients),
 * as one user's session from login to destroy: each test builds on the machine the earlier ones
 * made. What each proves is in its name; packages/web/README.md lists them.
 * Screenshots go to test-artifacts/web/.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestKloud, type TestKloud } from '../e2e/harness.js';
import { launchBrowser, poll, screenText, shot, typeInTerminal } from './browser.js';
import { machineFile, machineFileBase64, sessionsOf } from './machine.js';

let t: TestKloud;
let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  t = await startTestKloud();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
}, 120_000);
afterEach(async (ctx) => {
  // What the browser showed when a test failed, for whoever reads the failure.
  if (ctx.task.result?.state !== 'fail') return;
  for (const [i, p] of (context?.pages() ?? []).entries())
    await shot(p, `failed-${ctx.task.name.slice(0, 30)}-${i}`);
});
afterAll(async () => {
  await browser?.close();
  await t?.cleanup();
});

describe('web UI', () => {
  let machineId: string;
  let page: Page;

  it('logs in with a token, refusing a wrong one', async () => {
    page = await context.newPage();
    await page.goto(t.kloud.url);
    await page.fill('#token', 'kk_not-a-real-token');
    await page.click('button[type=submit]');
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
    await page.fill('#token', t.token);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'Machines' }).waitFor();
    await shot(page, '01-machines-empty');
  });

  it('builds a local machine and shows its progress until it runs', async () => {
    await page.fill('#new-label', 'ui-dev');
    await page.click('text=Create and build');
    await page.locator('.notice').first().waitFor();
    await shot(page, '02-machine-created');
    const row = page.locator('tr', { hasText: 'ui-dev' });
    await row.locator('.progress:not([hidden])').waitFor();
    await shot(page, '02-machine-building');
    await row.locator('.state-Running').waitFor({ timeout: 120_000 });
    const messages = await row.locator('.progress-text').innerText();
    expect(messages).toMatch(/completed/);
    machineId = (await row.getAttribute('data-machine'))!;
    await shot(page, '03-machine-running');
  }, 150_000);

  it('opens a terminal, runs a command, and shows the same screen after a reload', async () => {
    await page.locator('tr', { hasText: 'ui-dev' }).getByRole('link', { name: 'Open' }).click();
    await page.locator('.term-panel .xterm-rows').waitFor();
    await typeInTerminal(page, 'echo ui-$((6*7))');
    await poll(() => screenText(page)).toContain('ui-42');
    await shot(page, '04-terminal');
    await page.reload();
    await page.locator('.term-panel .xterm-rows').waitFor();
    // The screen comes back from Klient's model of it: nothing typed since the reload.
    await poll(() => screenText(page)).toContain('ui-42');
    expect(await page.locator('.terminals .tab').count()).toBe(1);
    await shot(page, '05-terminal-after-reload');
  }, 90_000);

  it('shows a file made in the terminal in the tree, edits and saves it, and refuses a conflicting save', async () => {
    const files = await context.newPage();
    await files.goto(`${t.kloud.url}/#/machines/${machineId}/files`);
    await files.locator('[role=tree][aria-busy=false]').waitFor({ state: 'attached' });
    // Made in the terminal of the other page while the tree is open: the watch brings it in.
    await typeInTerminal(page, 'echo first > from-term.txt');
    const item = files.getByRole('treeitem', { name: 'from-term.txt' });
    await item.waitFor({ timeout: 30_000 });
    await shot(files, '06-tree-with-new-file');

    await item.click();
    const editor = files.getByLabel('File content');
    await poll(() => editor.inputValue()).toBe('first\n');
    await editor.fill('edited in the browser\n');
    await files.getByRole('button', { name: 'Save' }).click();
    await files.locator('.notice.ok', { hasText: 'Saved' }).waitFor();
    await typeInTerminal(page, 'cat from-term.txt');
    await poll(() => screenText(page)).toContain('edited in the browser');

    // Someone changes the file after it was opened here: saving must not overwrite it.
    await typeInTerminal(page, 'echo changed-in-terminal > from-term.txt');
    // Typing returns once the keys are sent; the save must follow the shell's write, not race it.
    await poll(() => machineFile(t, machineId, 'from-term.txt')).toBe('changed-in-terminal\n');
    await editor.fill('my stale version\n');
    await files.getByRole('button', { name: 'Save' }).click();
    await files.getByRole('alert').filter({ hasText: 'changed on the machine' }).waitFor();
    await shot(files, '07-save-conflict');
    // What the terminal wrote is still there; the editor still holds the user's version.
    expect(await machineFile(t, machineId, 'from-term.txt')).toBe('changed-in-terminal\n');
    expect(await editor.inputValue()).toBe('my stale version\n');
    await files.close();
  }, 90_000);

  it('opens several terminal tabs, copies and pastes, uploads and downloads a binary file, and works from the keyboard', async () => {
    await page.getByRole('button', { name: '+ New terminal' }).click();
    await poll(() => page.locator('.terminals .tab').count()).toBe(2);
    await typeInTerminal(page, 'echo second-tab');
    await poll(() => screenText(page)).toContain('second-tab');
    // Paste from the clipboard with Ctrl+Shift+V.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.kloud.url });
    await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((3*3))'));
    await page.locator('.term-panel:not([hidden]) .xterm-helper-textarea').focus();
    await page.keyboard.press('Control+Shift+V');
    // The paste waits for the clipboard to be read; an Enter sent before it lands would run nothing.
    await poll(() => screenText(page)).toContain('echo pasted-$((3*3))');
    await page.keyboard.press('Enter');
    // Pasted once: the command's output is a line of its own.
    await poll(() => screenText(page)).toMatch(/^pasted-9\s*$/m);
    // Copy: select the output word with a double click, Ctrl+Shift+C puts it on the clipboard.
    const row = await page
      .locator('.term-panel:not([hidden]) .xterm-rows > div', { hasText: /^pasted-9\s*$/ })
      .boundingBox();
    await page.mouse.dblclick(row!.x + 20, row!.y + row!.height / 2);
    await page.keyboard.press('Control+Shift+C');
    await poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('pasted-9');
    // The first tab still has its own screen.
    await page.locator('.terminals .tab').first().click();
    await poll(() => screenText(page)).toContain('ui-42');

    const files = await context.newPage();
    await files.goto(`${t.kloud.url}/#/machines/${machineId}/files`);
    await files.locator('[role=tree][aria-busy=false]').waitFor({ state: 'attached' });
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) & 0xff));
    await files
      .locator('input[type=file]')
      .setInputFiles({ name: 'blob.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await files.locator('.notice.ok', { hasText: 'Uploaded' }).waitFor();
    expect(Buffer.from(await machineFileBase64(t, machineId, 'blob.bin'), 'base64').equals(bytes)).toBe(true);

    // A binary file is not opened as text (a save from the text box would change its bytes).
    await files.getByRole('treeitem', { name: 'blob.bin' }).click();
    await files.locator('.notice', { hasText: 'not UTF-8 text' }).waitFor();

    // Keyboard only: into the tree, down to the text file and open it, back up to the upload.
    const selected = () => files.locator('[role=treeitem][aria-selected=true]').getAttribute('data-path');
    await files.getByRole('treeitem').first().focus();
    expect(await selected()).toMatch(/blob\.bin$/);
    await files.keyboard.press('ArrowDown');
    expect(await selected()).toMatch(/from-term\.txt$/);
    await files.keyboard.press('Enter');
    await poll(() => files.locator('.editor-title').innerText()).toMatch(/from-term\.txt$/);
    await files.getByRole('treeitem', { name: 'from-term.txt' }).focus();
    await files.keyboard.press('ArrowUp');
    expect(await selected()).toMatch(/blob\.bin$/);
    const [download] = await Promise.all([
      files.waitForEvent('download'),
      files.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('blob.bin');
    expect((await readFile((await download.path())!)).equals(bytes)).toBe(true);

    // A narrow window stacks the tree above the editor.
    await files.setViewportSize({ width: 420, height: 800 });
    await shot(files, '08-files-narrow');
    const tree = await files.locator('.tree-pane').boundingBox();
    const editor = await files.locator('.editor').boundingBox();
    expect(editor!.y).toBeGreaterThan(tree!.y + tree!.height - 1);
    await page.setViewportSize({ width: 420, height: 800 });
    await page.goto(`${t.kloud.url}/#/machines`);
    await page.locator('tr', { hasText: 'ui-dev' }).waitFor();
    await shot(page, '09-machines-narrow');
    await files.close();
  }, 90_000);

  it('builds a machine page once when its stored events arrive before its state does', async () => {
    const early = await context.newPage();
    const tokenRequests: string[] = [];
    early.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith(`/machines/${machineId}/token`))
        tokenRequests.push(r.url());
    });
    // Hold every look at the machine's state until the replayed events have reached the page.
    const held: Route[] = [];
    let holding = true;
    let stateAnswers = 0;
    early.on('requestfinished', (r) => {
      if (r.url().endsWith(`/machines/${machineId}/state`)) stateAnswers++;
    });
    await early.route(`**/api/v1/machines/${machineId}/state`, (route) =>
      holding ? void held.push(route) : route.continue(),
    );
    await early.goto(`${t.kloud.url}/#/machines/${machineId}/sharing`);
    await early.locator('.machine-page .progress:not([hidden])').waitFor();
    holding = false;
    const releasedCount = held.length;
    for (const route of held) await route.continue();
    await early.locator('#share-user').waitFor();
    expect(tokenRequests).toHaveLength(1);
    // The look the events asked for runs after the first one, finds the page built, and stops.
    await poll(() => stateAnswers).toBeGreaterThan(releasedCount);
    expect(tokenRequests).toHaveLength(1);
    expect(await early.locator('.sharing').count()).toBe(1);
    await early.close();
  });

  it('shares the machine read-only from the Sharing tab; the other user watches the terminal and cannot type or save', async () => {
    const bob = (await t.api('POST', '/api/v1/users', { username: 'bob' })).body;
    const bobToken = (await t.api('POST', '/api/v1/tokens', { name: 'ui', userId: bob.id })).body
      .token as string;

    await page.setViewportSize({ width: 1200, height: 800 });
    await page.goto(`${t.kloud.url}/#/machines/${machineId}/sharing`);
    await page.fill('#share-user', 'bob');
    await page.check('#share-readonly');
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.locator('.sharing li', { hasText: 'bob — read-only' }).waitFor();
    await shot(page, '10-sharing');

    const bobContext = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const bobPage = await bobContext.newPage();
    await bobPage.goto(t.kloud.url);
    await bobPage.fill('#token', bobToken);
    await bobPage.click('button[type=submit]');
    const row = bobPage.locator('tr', { hasText: 'ui-dev' });
    await row.getByText('readonly').waitFor();
    await row.getByRole('link', { name: 'Open' }).click();
    await bobPage.getByText('read-only', { exact: true }).waitFor();
    // Bob sees the owner's first session as it is, and cannot start one of his own.
    await poll(() => screenText(bobPage)).toContain('ui-42');
    expect(await bobPage.getByRole('button', { name: '+ New terminal' }).count()).toBe(0);
    await typeInTerminal(bobPage, 'echo bob-was-here');
    // The owner types after him: the owner's line reaches Bob's view, Bob's keys went nowhere.
    await page.goto(`${t.kloud.url}/#/machines/${machineId}/terminal`);
    await page.locator('.terminals .tab').first().click();
    await typeInTerminal(page, 'echo owner-$((2*21))');
    await poll(() => screenText(bobPage)).toContain('owner-42');
    expect(await screenText(bobPage)).not.toContain('bob-was-here');
    expect(await screenText(page)).not.toContain('bob-was-here');
    await shot(bobPage, '11-readonly-terminal');

    await bobPage.getByRole('tab', { name: 'Files' }).click();
    await bobPage.getByRole('treeitem', { name: 'from-term.txt' }).click();
    await poll(() => bobPage.getByLabel('File content').inputValue()).toBe('changed-in-terminal\n');
    expect(await bobPage.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(await bobPage.getByRole('button', { name: 'New file' }).count()).toBe(0);
    await bobContext.close();
  }, 90_000);

  it('reconnects after the machine connection drops and reattaches to the same screen; a narrower window resizes its sessions, shown or not', async () => {
    await page.goto(`${t.kloud.url}/#/machines/${machineId}/terminal`);
    await poll(() => screenText(page)).toContain('owner-42');
    expect(t.kloud.tunnel.closeConnections(machineId, t.adminId, 'dropped by the test')).toBeGreaterThan(0);
    // The client reconnects with a fresh token; the tab attaches again and typing works.
    await poll(() => t.kloud.tunnel.liveCount(machineId)).toBeGreaterThan(0);
    await typeInTerminal(page, 'echo back-$((1+1))');
    await poll(() => screenText(page)).toContain('back-2');
    expect(await screenText(page)).toContain('owner-42');

    // A narrower window resizes the sessions of both tabs: the one behind the shown one keeps its
    // place in the layout, so it is fitted too (and a reattach never resizes it to a default).
    const colsNow = async () => Math.max(...(await sessionsOf(t, machineId)).map((x) => x.cols));
    const wide = await colsNow();
    await page.setViewportSize({ width: 600, height: 800 });
    await poll(colsNow).toBeLessThan(wide);
  }, 60_000);

  it('adds a template, builds a stack from it with progress, stops, starts and destroys its machine; adds a credential whose secret stays hidden', async () => {
    await page.goto(`${t.kloud.url}/#/templates`);
    await page.fill('#tpl-new-title', 'tiny');
    await page.fill('#tpl-new-content', 'machines:\n  tiny:\n    provider: local\n');
    await page.getByRole('button', { name: 'Add template' }).click();
    await page.locator('.plain-list li', { hasText: 'tiny' }).waitFor();

    await page.goto(`${t.kloud.url}/#/machines`);
    await page.locator('#tpl-select option', { hasText: 'tiny' }).waitFor({ state: 'attached' });
    await page.selectOption('#tpl-select', { label: 'tiny' });
    await page.fill('#tpl-title', 'from-ui');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('form .progress-text', { hasText: 'stack applied' }).waitFor({ timeout: 120_000 });
    await page.locator('tr', { hasText: 'tiny' }).locator('.state-Running').waitFor({ timeout: 60_000 });
    await shot(page, '12-stack-applied');

    // Stop, start and destroy it from its row, following the state live.
    const tiny = page.locator('tr', { hasText: 'tiny' });
    await tiny.getByRole('button', { name: 'Stop' }).click();
    await tiny.locator('.state-Stopped').waitFor({ timeout: 60_000 });
    await tiny.getByRole('button', { name: 'Start' }).click();
    await tiny.locator('.state-Running').waitFor({ timeout: 60_000 });
    page.once('dialog', (dialog) => void dialog.accept());
    await tiny.getByRole('button', { name: 'Destroy' }).click();
    await tiny.locator('.state-Terminated').waitFor({ timeout: 60_000 });
    expect(await tiny.getByRole('button', { name: 'Build' }).count()).toBe(1);

    await page.goto(`${t.kloud.url}/#/credentials`);
    await page.selectOption('#cred-provider', 'digitalocean');
    await page.fill('#cred-title', 'team DO');
    await page.fill('#cred-data', 'token=do-very-secret-token');
    await page.getByRole('button', { name: 'Add credential' }).click();
    const item = page.locator('.plain-list li', { hasText: 'team DO' });
    await item.waitFor();
    expect(await page.locator('main').innerText()).not.toContain('do-very-secret-token');
    await shot(page, '13-credentials');
  }, 180_000);

  it('makes a folder and a file, renames and deletes them from the Files tab', async () => {
    const files = await context.newPage();
    await files.goto(`${t.kloud.url}/#/machines/${machineId}/files`);
    await files.locator('[role=tree][aria-busy=false]').waitFor({ state: 'attached' });
    const answers: string[] = [];
    files.on('dialog', (dialog) => void dialog.accept(answers.shift()));
    const treeitem = (name: string) => files.getByRole('treeitem', { name, exact: true });

    answers.push('docs');
    await files.getByRole('button', { name: 'New folder' }).click();
    await treeitem('docs').waitFor();

    await treeitem('from-term.txt').click();
    answers.push('notes.txt');
    await files.getByRole('button', { name: 'New file' }).click();
    await treeitem('notes.txt').waitFor();
    await poll(() => files.locator('.editor-title').innerText()).toMatch(/notes\.txt$/);

    await treeitem('notes.txt').click();
    answers.push('renamed.txt');
    await files.getByRole('button', { name: 'Rename' }).click();
    await treeitem('renamed.txt').waitFor();
    await treeitem('notes.txt').waitFor({ state: 'detached' });
    expect(await machineFile(t, machineId, 'renamed.txt')).toBe('');

    await treeitem('renamed.txt').click();
    answers.push('');
    await files.getByRole('button', { name: 'Delete' }).click();
    await treeitem('renamed.txt').waitFor({ state: 'detached' });
    await treeitem('docs').click();
    answers.push('');
    await files.getByRole('button', { name: 'Delete' }).click();
    await treeitem('docs').waitFor({ state: 'detached' });
    await files.close();
  }, 60_000);

  it('sends the user back to the login form, saying why, when the token is revoked', async () => {
    const dave = (await t.api('POST', '/api/v1/users', { username: 'dave' })).body;
    const issued = (await t.api('POST', '/api/v1/tokens', { name: 'ui', userId: dave.id })).body;
    const daveContext = await browser.newContext();
    const davePage = await daveContext.newPage();
    await davePage.goto(t.kloud.url);
    await davePage.fill('#token', issued.token);
    await davePage.click('button[type=submit]');
    await davePage.getByRole('heading', { name: 'Machines' }).waitFor();
    expect((await t.api('DELETE', `/api/v1/tokens/${issued.apiToken.id}`)).status).toBeLessThan(300);
    // The page's event connection opens in the background after login: when its handshake lands
    // after the revocation, it ends the session itself and the Refresh button is already gone.
    // Otherwise the Refresh's 401 does. Either way the user must land on the login form, so the
    // button is pressed only if it is still there (a click() would wait for it until timeout).
    await davePage.getByRole('button', { name: 'Refresh' }).evaluateAll((buttons) => {
      for (const b of buttons) (b as HTMLButtonElement).click();
    });
    await davePage.getByText('Your session ended').waitFor();
    await davePage.locator('#token').waitFor();
    expect(await davePage.evaluate(() => localStorage.getItem('kk.apiToken'))).toBeNull();
    await daveContext.close();
  });
});
