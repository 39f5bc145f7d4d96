// The packaged extension in the real VS Code workbench (code-server 4.100.3,
// VS Code 1.100.3) driven through headless Chromium, as a user would drive it.
// Needs `bash scripts/code-server/install.sh` and a .vsix (`npm run package`).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeStateFile, encodeStateFile } from '../../src/core/persist/stateFile';
import { CodeServer, Workbench, artifactsDir, makeScratchDir, removeScratchDir, repoRoot } from './codeServer';

const EXTENSION_ID = 'metacomplete.metacomplete';
/** Bound in the test user's keybindings to the internal command that kills the engine worker (it is not in the palette). */
const KILL_WORKER_KEY = 'Control+Alt+Shift+K';
/**
 * The fixture files MetaComplete learns: frobnicator.ts, glimmerwartQueue.ts, main.ts, snorkelLedger.ts,
 * plumbusVault.ts, vaultClient.ts and deploySettings.ts (its AWS key is redacted, the rest learned).
 */
const LEARNED_FILES = 7;
const READY = `MetaComplete: ready (${LEARNED_FILES} files)`;
/**
 * Secrets of learned fixture files: src/plumbusVault.ts's password and passphrase, src/deploySettings.ts's AWS key
 * (a separate file: before the secret policy a file with an AWS key was skipped whole, which hid the password).
 * Never suggested, never logged; passphrase words are joined by the lexer's whitespace mark in a token.
 */
const FIXTURE_SECRETS = ['Summer2024', 'correct horse', 'correct\u2581horse', 'AKIAIOSFODNN7EXAMPLE'];

/** The .vsix under test: `$METACOMPLETE_VSIX` (relative to the working folder) or `dist/metacomplete.vsix`. */
function vsixUnderTest(): string {
  const vsix = process.env.METACOMPLETE_VSIX
    ? path.resolve(process.env.METACOMPLETE_VSIX)
    : path.join(repoRoot(), 'dist', 'metacomplete.vsix');
  if (!fs.existsSync(vsix)) {
    throw new Error(`No extension package at ${vsix}: run \`npm run package\` first, or set METACOMPLETE_VSIX to a .vsix file.`);
  }
  return vsix;
}

/** A scratch copy of the fixture workspace, so edits made in the workbench never reach the repository. */
function copyFixtureWorkspace(): string {
  const workspace = path.join(makeScratchDir('metacomplete-e2e-'), 'e2e-workspace');
  fs.cpSync(path.join(repoRoot(), 'test', 'fixtures', 'e2e-workspace'), workspace, { recursive: true });
  // The fixture's .gitignore covers src/generated/, so git cannot keep this file in the repository.
  fs.mkdirSync(path.join(workspace, 'src', 'generated'), { recursive: true });
  fs.writeFileSync(path.join(workspace, 'src', 'generated', 'quuxelTable.ts'), 'export const quuxelTable = [1, 2, 3];\n');
  return workspace;
}

/** Files under `dir` (at any depth) whose name matches `name`, sorted. */
function listFilesNamed(dir: string, name: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((file) => name.test(path.basename(file)))
    .sort();
}

describe('MetaComplete in VS Code (code-server)', function () {
  const artifacts = artifactsDir();
  let server: CodeServer;
  let workbench: Workbench;
  let workspace: string | undefined;

  /** Runs `check`; when it fails, the extension host's logs join the error, since they say why. */
  async function withExtensionHostLogs(check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n\nExtension host logs:\n${server.logs('exthost')}`);
    }
  }

  before(async function () {
    // Installing the .vsix, starting the server and loading the workbench: about 20 s on 2 cores.
    this.timeout(120_000);
    const vsix = vsixUnderTest();
    fs.rmSync(artifacts, { recursive: true, force: true });
    fs.mkdirSync(artifacts, { recursive: true });
    workspace = copyFixtureWorkspace();
    server = await CodeServer.start({ vsixPaths: [vsix], artifactsDir: artifacts });
    fs.writeFileSync(
      path.join(server.userDataDir, 'User', 'keybindings.json'),
      JSON.stringify([{ key: 'ctrl+alt+shift+k', command: '_metacomplete.killWorker' }], null, 2),
    );
    workbench = await Workbench.open(server, workspace, { artifactsDir: artifacts });
    await workbench.screenshot('01-workbench-ready');
  });

  afterEach(async function () {
    const test = this.currentTest;
    if (test?.state === 'failed' && workbench) {
      await workbench.screenshot(`failed-${test.title}`).catch(() => undefined);
    }
  });

  after(async function () {
    this.timeout(60_000);
    try {
      await workbench?.close();
    } finally {
      await server?.stop();
      if (workspace) removeScratchDir(path.dirname(workspace));
    }
  });

  it('installs the packaged extension', function () {
    const installed = fs.readdirSync(server.extensionsDir).filter((name) => name.startsWith(`${EXTENSION_ID}-`));
    assert.equal(installed.length, 1, `expected one ${EXTENSION_ID} folder in ${server.extensionsDir}, found: ${installed.join(', ')}`);
  });

  it('"MetaComplete: Show Log" shows the MetaComplete output channel with the activation line', async function () {
    const [folder] = fs.readdirSync(server.extensionsDir).filter((name) => name.startsWith(`${EXTENSION_ID}-`));
    const manifest = JSON.parse(fs.readFileSync(path.join(server.extensionsDir, folder, 'package.json'), 'utf8'));
    const activationLine = `MetaComplete ${String(manifest.version)} activated.`;

    await withExtensionHostLogs(async () => {
      await workbench.runCommand('MetaComplete: Show Log');
      await workbench.waitForActiveOutputChannel('MetaComplete');
      const text = await workbench.waitForOutputText('MetaComplete', activationLine);
      // A log channel prefixes each line with its time and level: "2025-01-01 12:00:00.000 [info] ...".
      const lines = text.split('\n').map((line) => line.trim());
      assert.ok(
        lines.some((line) => line.endsWith(`[info] ${activationLine}`)),
        `no "[info] ${activationLine}" line in the MetaComplete channel:\n${text}`,
      );
    });
    await workbench.screenshot('02-show-log');
  });

  it('edits a workspace file, with the cursor position in the status bar', async function () {
    await workbench.openFile('src/frobnicator.ts');
    assert.match(await workbench.editorText(), /export function zorblaxFrobnicate\(/);

    const typed = 'export const glimmerwartScore = zorblaxFrobnicate(3, 2);';
    await workbench.typeInEditor(`\n${typed}`);
    assert.ok((await workbench.editorText()).includes(typed), 'the typed line is not in the editor');
    const statusBar = await workbench.statusBarItems();
    assert.ok(statusBar.includes('TypeScript'), `no language "TypeScript" in the status bar: ${statusBar.join(' | ')}`);
    assert.ok(
      statusBar.some((item) => /^Ln \d+, Col \d+$/.test(item)),
      `no cursor position in the status bar: ${statusBar.join(' | ')}`,
    );
    await workbench.screenshot('03-edited-file');
  });

  /** Polls the status bar until an item matches `pattern`; returns that item's text. */
  async function waitForStatusBarItem(pattern: RegExp, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let items: string[] = [];
    while (Date.now() < deadline) {
      items = await workbench.statusBarItems();
      const found = items.find((item) => pattern.test(item));
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`No status bar item matched ${pattern} within ${timeoutMs} ms: ${items.join(' | ')}`);
  }

  it('"MetaComplete: Index Workspace" learns the fixture, shows "ready" and logs each skipped file with its reason', async function () {
    this.timeout(120_000);
    await withExtensionHostLogs(async () => {
      // The startup index has run (or runs) already; the command's run adds a second summary line.
      await workbench.waitForOutputText('MetaComplete', 'Indexed the workspace', 60_000);
      await workbench.runCommand('MetaComplete: Index Workspace');
      await workbench.runCommand('MetaComplete: Show Log');
      const deadline = Date.now() + 60_000;
      let summaries = 0;
      while (Date.now() < deadline && summaries < 2) {
        summaries = (await workbench.outputChannelText('MetaComplete')).split('Indexed the workspace').length - 1;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal(summaries, 2, 'the command did not re-index the workspace');
      // binaryBlob.ts and awsCredentials.ts are left out; the others are learned, secrets redacted.
      assert.equal(await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/), READY);
      await workbench.runCommand('MetaComplete: Show Log');
      const log = await workbench.waitForOutputText('MetaComplete', 'Indexed the workspace');
      for (const expected of [
        'Skipped src/binaryBlob.ts: binary file (NUL byte in the first 8 KB).',
        'Skipped src/awsCredentials.ts: may hold secrets (**/*credentials*).',
        // An ignored folder is left out whole, without listing what is inside.
        'Skipped src/generated/: ignored by .gitignore (/src/generated).',
        `${LEARNED_FILES} files learned, 3 skipped.`,
      ]) {
        assert.ok(log.includes(expected), `the log has no "${expected}":\n${log}`);
      }
      // A file with a secret is learned without it, not skipped whole.
      assert.ok(!log.includes('Skipped src/deploySettings.ts'), `deploySettings.ts was skipped for its AWS key:\n${log}`);
      assert.ok(!log.includes('.env'), `the log mentions .env, which the include globs never take:\n${log}`);
      assert.ok(!log.includes('AKIAIOSFODNN7EXAMPLE'), `the log repeats the secret it skipped:\n${log}`);
    });
    await workbench.screenshot('04-indexed');
  });

  /** The text of the ghost text (inline suggestion) decorations in the active editor. */
  async function ghostText(): Promise<string> {
    const parts = await workbench.page
      .locator('.editor-group-container.active .monaco-editor [class*="ghost-text"]')
      .allTextContents();
    return parts.join('').replace(/\u00a0/g, ' ');
  }

  /** Polls the ghost text until it contains `expected`; returns what it showed last. */
  async function waitForGhostText(expected: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let shown = '';
    while (Date.now() < deadline && !shown.includes(expected)) {
      shown = await ghostText();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return shown;
  }

  it('shows ghost text with a fixture identifier only the workspace-adapted model knows', async function () {
    this.timeout(60_000);
    await withExtensionHostLogs(async () => {
      await workbench.openFile('src/main.ts');
      await workbench.typeInEditor('\nconst secondQueue = new ');
      const shown = await waitForGhostText('GlimmerwartQueue(3);');
      await workbench.screenshot('05-ghost-text');
      // main.ts: `new GlimmerwartQueue(3);` is the only `new` in the fixture.
      assert.ok(shown.includes('GlimmerwartQueue(3);'), `the ghost text is "${shown}", not "GlimmerwartQueue(3);"`);
    });
  });

  it('lists the fixture identifier in the suggest widget with "MetaComplete" and its probability', async function () {
    this.timeout(60_000);
    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      await workbench.page.keyboard.type('Glim', { delay: 20 });
      await workbench.page.keyboard.press('Control+Space');
      const row = workbench.page
        .locator('.editor-widget.suggest-widget .monaco-list-row')
        .filter({ hasText: 'GlimmerwartQueue' })
        .filter({ hasText: /MetaComplete \d+%/ });
      await row.first().waitFor({ state: 'visible', timeout: 20_000 });
      await workbench.screenshot('06-suggest-widget');
      await workbench.page.keyboard.press('Escape');
    });
  });

  /** The suggest widget's rows whose label is exactly `label`, with their full text (label, detail, description). */
  async function suggestRowsLabelled(label: string): Promise<string[]> {
    const rows = workbench.page.locator('.editor-widget.suggest-widget .monaco-list-row');
    const texts: string[] = [];
    for (let index = 0, count = await rows.count(); index < count; index += 1) {
      const row = rows.nth(index);
      const rowLabel = ((await row.locator('.label-name').first().textContent()) ?? '').trim();
      if (rowLabel === label) texts.push(((await row.textContent()) ?? '').replace(/\u00a0/g, ' '));
    }
    return texts;
  }

  /** Opens the suggest widget at the cursor and waits until it lists something or says it has nothing. */
  async function openSuggestWidget(): Promise<void> {
    await workbench.page.keyboard.press('Control+Space');
    await workbench.page
      .locator('.editor-widget.suggest-widget.visible .monaco-list-row, .editor-widget.suggest-widget .message:visible')
      .first()
      .waitFor({ state: 'visible', timeout: 20_000 });
    // Providers answer at different speeds; let the slower ones land.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }

  it('proposes, as ghost text and in the suggest list, a local identifier of an unopened file that only MetaComplete knows', async function () {
    this.timeout(120_000);
    const identifier = 'wibbleFractalSum';
    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      await workbench.openFile('src/main.ts');

      // snorkelLedger.ts: `for (const snorkelEntry of snorkelEntries) wibbleFractalSum += snorkelEntry;`
      await workbench.typeInEditor('\nfor (const snorkelEntry of snorkelEntries) ');
      const shown = await waitForGhostText(`${identifier} += snorkelEntry;`);
      await workbench.screenshot('10-ghost-text-unknown-to-typescript');
      assert.ok(shown.includes(`${identifier} += snorkelEntry;`), `the ghost text is "${shown}", not "${identifier} += snorkelEntry;"`);

      await workbench.page.keyboard.press('Escape');
      await workbench.typeInEditor('\nconst fromMetaComplete = wibb');
      await openSuggestWidget();
      const rows = await suggestRowsLabelled(identifier);
      await workbench.screenshot('11-suggest-unknown-to-typescript');
      await workbench.page.keyboard.press('Escape');
      // The suggest list never merges items of different providers: had TypeScript or the word-based
      // provider offered it too, it would have a row of its own without "MetaComplete".
      assert.deepEqual(rows.filter((row) => !/MetaComplete \d+%/.test(row)), [], `another provider offers ${identifier}`);
      assert.equal(rows.length, 1, `expected one "${identifier}" row, MetaComplete's; found: ${JSON.stringify(rows)}`);
    });
  });

  it('"MetaComplete: Reset Model" restarts the engine empty, re-indexes, and completions come again', async function () {
    this.timeout(120_000);
    await withExtensionHostLogs(async () => {
      const countIndexed = (log: string) => log.split('Indexed the workspace').length - 1;
      const before = countIndexed(await workbench.outputChannelText('MetaComplete'));
      await workbench.runCommand('MetaComplete: Reset Model');
      const deadline = Date.now() + 60_000;
      let log = '';
      while (Date.now() < deadline) {
        log = await workbench.outputChannelText('MetaComplete');
        if (log.includes('Engine worker restarted empty (Reset Model).') && countIndexed(log) > before) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.ok(log.includes('Engine worker restarted empty (Reset Model).'), `no restart in the log:\n${log}`);
      assert.ok(countIndexed(log) > before, `no re-index after the reset in the log:\n${log}`);
      assert.equal(await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/), READY);

      await workbench.openFile('src/main.ts');
      await workbench.typeInEditor('\nconst thirdQueue = new ');
      const shown = await waitForGhostText('GlimmerwartQueue(3);');
      await workbench.screenshot('07-after-reset');
      assert.ok(shown.includes('GlimmerwartQueue(3);'), `after the reset the ghost text is "${shown}"`);

      // Saving re-learns that one file, not the workspace.
      await workbench.page.keyboard.press('Escape');
      await workbench.page.keyboard.press('Control+S');
      const saved = await workbench.waitForOutputText('MetaComplete', 'Re-learned src/main.ts');
      assert.equal(countIndexed(saved), countIndexed(log), 'saving one file re-indexed the whole workspace');
      // The save event and the file watcher both report the save; the file is learned once.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const relearned = (await workbench.outputChannelText('MetaComplete')).split('Re-learned src/main.ts').length - 1;
      assert.equal(relearned, 1, 'the saved file was learned more than once');
      await workbench.screenshot('08-saved-file-relearned');
    });
  });

  it('keeps completing after the engine worker is killed, and tells the user once', async function () {
    this.timeout(180_000);
    const stopped = 'The engine worker stopped: killed by _metacomplete.killWorker.';
    const restarted = 'Engine worker restarted; re-indexing the workspace.';
    const notice = "MetaComplete's engine stopped";
    const count = (text: string, line: string) => text.split(line).length - 1;
    /** Polls the log until `line` is in it `times` times, and the workspace was indexed once more after that. */
    async function waitForRestart(times: number): Promise<string> {
      const deadline = Date.now() + 60_000;
      let log = '';
      while (Date.now() < deadline) {
        log = await workbench.outputChannelText('MetaComplete');
        const afterLast = log.slice(log.lastIndexOf(restarted));
        if (count(log, restarted) >= times && afterLast.includes('Indexed the workspace')) return log;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      throw new Error(`the worker was not restarted and re-indexed ${times} time(s); the log:\n${log}`);
    }
    /** The notifications (toasts and the notification centre) whose text has `text`. */
    async function notificationsWith(text: string): Promise<number> {
      await workbench.runCommand('Notifications: Show Notifications');
      const items = workbench.page.locator('.notifications-center .notification-list-item').filter({ hasText: text });
      await workbench.page.locator('.notifications-center').waitFor({ state: 'visible', timeout: 10_000 });
      const found = await items.count();
      await workbench.screenshot(`notifications-${found}`);
      await workbench.runCommand('Notifications: Hide Notifications');
      return found;
    }

    await withExtensionHostLogs(async () => {
      await workbench.openFile('src/main.ts');
      await workbench.page.keyboard.press(KILL_WORKER_KEY);
      let log = await waitForRestart(1);
      assert.equal(count(log, stopped), 1, `no "${stopped}" line:\n${log}`);
      assert.equal(await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/), READY);
      assert.equal(await notificationsWith(notice), 1, 'the user was not told that the engine stopped');

      await workbench.openFile('src/main.ts');
      await workbench.typeInEditor('\nconst queueAfterCrash = new ');
      const shown = await waitForGhostText('GlimmerwartQueue(3);');
      await workbench.screenshot('12-ghost-text-after-worker-killed');
      assert.ok(shown.includes('GlimmerwartQueue(3);'), `after the worker was killed the ghost text is "${shown}"`);
      // Accepted, as a user would: lines left at `= new` would teach the file's cache that `new` is followed by `const`.
      await workbench.page.keyboard.press('Tab');

      // A second crash restarts the worker again, without telling the user again.
      await workbench.page.keyboard.press('Escape');
      await workbench.page.keyboard.press(KILL_WORKER_KEY);
      log = await waitForRestart(2);
      assert.equal(count(log, stopped), 2, `the second kill is not in the log:\n${log}`);
      assert.equal(await notificationsWith(notice), 1, 'the user was told more than once');

      await workbench.openFile('src/main.ts');
      await workbench.page.keyboard.press('Escape');
      await workbench.typeInEditor('\nconst queueAfterSecondCrash = new ');
      const again = await waitForGhostText('GlimmerwartQueue(3);');
      await workbench.screenshot('13-ghost-text-after-second-kill');
      assert.ok(again.includes('GlimmerwartQueue(3);'), `after the second kill the ghost text is "${again}"`);
    });
  });

  /** Every ghost text shown over `durationMs` (sampled every 200 ms), so that one flashed briefly is caught too. */
  async function ghostTextsOver(durationMs: number): Promise<string[]> {
    const seen = new Set<string>();
    for (const deadline = Date.now() + durationMs; Date.now() < deadline;) {
      seen.add(await ghostText());
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return [...seen];
  }

  /** The full texts of the suggest widget's rendered rows. */
  async function suggestRows(): Promise<string[]> {
    const rows = await workbench.page.locator('.editor-widget.suggest-widget .monaco-list-row').allTextContents();
    return rows.map((row) => row.replace(/\u00a0/g, ' '));
  }

  /** Discards what the tests typed into the active file, so the next test starts from its saved text. */
  async function revertActiveFile(): Promise<void> {
    await workbench.page.keyboard.press('Escape');
    await workbench.runCommand('File: Revert File');
  }

  /**
   * Waits for a notification toast with `text` to finish sliding in, expands it when its message is cut,
   * and returns its whole text: a screenshot taken right after it appears shows it half below the window.
   */
  async function waitForToast(text: string, timeoutMs = 15_000): Promise<string> {
    const toast = workbench.page.locator('.notification-toast').filter({ hasText: text }).first();
    await toast.waitFor({ state: 'visible', timeout: timeoutMs });
    const viewport = workbench.page.viewportSize();
    let last = '';
    for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
      const box = await toast.boundingBox();
      const where = JSON.stringify(box);
      if (box && viewport && box.y + box.height <= viewport.height && where === last) break;
      last = where;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // A toast shows its expand button only while the pointer is over it.
    await toast.hover();
    const expand = toast.locator('.codicon-notifications-expand');
    if (await expand.isVisible()) {
      await expand.click();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return ((await toast.textContent()) ?? '').replace(/\u00a0/g, ' ');
  }

  it('never suggests a password, a passphrase or an AWS key of learned files, while an identifier learned beside them is suggested in the same kind of line', async function () {
    this.timeout(60_000);
    const leaked = (texts: readonly string[]) => texts.filter((text) => FIXTURE_SECRETS.some((secret) => text.includes(secret)));
    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      // vaultClient.ts has no `=`: what follows one there is what the other files taught. Each check is
      // reverted before the next, so that a line left at `= ` does not teach the file's cache `= const`.
      await workbench.openFile('src/vaultClient.ts');

      // plumbusVault.ts: `const password = 'Summer2024!';` three times. Had the literal been learned, it would be
      // the only continuation of that line; learned with its secret taken out, it is the empty literal.
      await workbench.typeInEditor('\nconst password = ');
      const afterPassword = await ghostTextsOver(3_000);
      await workbench.screenshot('21-no-password-ghost-text');
      assert.deepEqual(leaked(afterPassword), [], 'the ghost text showed the password');
      assert.ok(afterPassword.some((shown) => shown.startsWith("''")), `the ghost text after "const password = " was ${JSON.stringify(afterPassword)}, never the empty literal`);
      await openSuggestWidget();
      const unprefixed = await suggestRows();
      assert.deepEqual(leaked(unprefixed), [], 'the suggest list offered the password');
      await workbench.page.keyboard.press('Escape');
      // And with the literal begun, as someone who remembers how it starts would type it.
      await workbench.page.keyboard.type("'Sum", { delay: 20 });
      await openSuggestWidget();
      const prefixed = await suggestRows();
      await workbench.screenshot('22-no-password-in-suggest-list');
      assert.deepEqual(leaked(prefixed), [], "the suggest list offered the password after 'Sum");
      await revertActiveFile();

      await workbench.typeInEditor('\nconst passphrase = ');
      const afterPassphrase = await ghostTextsOver(2_000);
      await workbench.screenshot('23-no-passphrase-ghost-text');
      assert.deepEqual(leaked(afterPassphrase), [], 'the ghost text showed the passphrase');
      await revertActiveFile();

      // deploySettings.ts: `export const deployAccessKeyId = 'AKIAIOSFODNN7EXAMPLE';`
      await workbench.typeInEditor('\nexport const deployAccessKeyId = ');
      const afterKey = await ghostTextsOver(2_000);
      await workbench.screenshot('24-no-access-key-ghost-text');
      assert.deepEqual(leaked(afterKey), [], 'the ghost text showed the AWS key');
      await revertActiveFile();

      // The same line shape in plumbusVault.ts, three times beside the password: its identifier is proposed.
      await workbench.typeInEditor('\nconst vaultRegion = ');
      const region = await waitForGhostText('plumbusVaultRegion;');
      await workbench.screenshot('20-secret-file-identifier-suggested');
      assert.ok(region.includes('plumbusVaultRegion;'), `the ghost text is "${region}", not "plumbusVaultRegion;"`);
      await workbench.page.keyboard.press('Escape');
      await workbench.typeInEditor('\nconst regionAgain = plumbusV');
      await openSuggestWidget();
      const identifierRows = await suggestRowsLabelled('plumbusVaultRegion');
      await workbench.screenshot('25-secret-file-identifier-in-suggest-list');
      assert.ok(identifierRows.some((row) => /MetaComplete \d+%/.test(row)), `no MetaComplete row for plumbusVaultRegion: ${JSON.stringify(identifierRows)}`);
      await revertActiveFile();

      await workbench.runCommand('MetaComplete: Show Log');
      const log = await workbench.waitForOutputText('MetaComplete', 'Indexed the workspace');
      assert.deepEqual(leaked(log.split('\n')), [], 'the log prints a secret');
      await workbench.screenshot('26-log-without-secrets');
    });
  });

  it('"MetaComplete: Cancel Indexing" is in the palette, says when nothing is indexing, and completions keep working', async function () {
    this.timeout(60_000);
    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/);
      await workbench.runCommand('MetaComplete: Cancel Indexing');
      await waitForToast('MetaComplete: no indexing is running.');
      await workbench.screenshot('27-cancel-indexing-idle');
      assert.equal(await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/), READY);
      const log = await workbench.outputChannelText('MetaComplete');
      assert.ok(!log.includes('Indexing stopped before the end'), `cancelling with nothing to cancel stopped an index:\n${log}`);

      await workbench.openFile('src/main.ts');
      await workbench.typeInEditor('\nconst queueAfterCancel = new ');
      const shown = await waitForGhostText('GlimmerwartQueue(3);');
      await workbench.screenshot('28-ghost-text-after-cancel-indexing');
      assert.ok(shown.includes('GlimmerwartQueue(3);'), `after Cancel Indexing the ghost text is "${shown}"`);
      await revertActiveFile();
    });
  });

  it('"MetaComplete: Import Model…" refuses a checkpoint with a forged layer count at once, stores nothing, and completions keep working', async function () {
    this.timeout(90_000);
    assert.ok(workspace !== undefined);
    const models = path.join(path.dirname(workspace), 'models');
    fs.mkdirSync(models, { recursive: true });
    // A real checkpoint of the fixture from the CLI (about a second), then its header forged and re-sealed with a valid checksum.
    const genuine = path.join(models, 'genuine.mcmodel');
    execFileSync(
      process.execPath,
      [path.join(repoRoot(), 'bin', 'metacomplete.js'), 'train', path.join(workspace, 'src'), '--out', genuine, '--quick', '--vocab', '120', '--hidden', '8', '--outer-steps', '2'],
      { timeout: 60_000, stdio: 'pipe' },
    );
    const contents = decodeStateFile(fs.readFileSync(genuine), 'model');
    (contents.header as { config: { layers: number } }).config.layers = 1_000_000;
    const forged = path.join(models, 'forged-layers.mcmodel');
    fs.writeFileSync(forged, encodeStateFile(contents));
    // Before the fix this header cost 23 s and 1.2 GB on the extension host thread.
    const storedModels = () => listFilesNamed(path.join(server.userDataDir, 'User', 'workspaceStorage'), /\.mcmodel$/);
    const before = storedModels();

    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      await workbench.runCommand('MetaComplete: Import Model…');
      // code-server's open dialog is VS Code's simple file dialog: a quick input that takes a path.
      const dialog = workbench.page.locator('.quick-input-widget');
      await dialog.locator('.quick-input-title', { hasText: 'Import MetaComplete Model' }).waitFor({ state: 'visible', timeout: 10_000 });
      const box = dialog.locator('.quick-input-box input');
      // The dialog fills in its starting folder after it opens, which can overwrite a path typed too early:
      // type it until it stays, with the forged file listed beside it.
      const forgedRow = dialog.locator('.monaco-list-row', { hasText: 'forged-layers.mcmodel' });
      for (let attempt = 0; ; attempt += 1) {
        await box.fill(forged);
        await new Promise((resolve) => setTimeout(resolve, 700));
        if ((await box.inputValue()) === forged && (await forgedRow.isVisible())) break;
        assert.ok(attempt < 10, `the open dialog does not keep the typed path; it shows "${await box.inputValue()}"`);
      }
      await workbench.screenshot('30-import-model-dialog');
      const accepted = Date.now();
      await box.press('Enter');
      const toast = workbench.page.locator('.notification-toast').filter({ hasText: 'MetaComplete cannot import forged-layers.mcmodel' });
      await toast.first().waitFor({ state: 'visible', timeout: 15_000 });
      const seconds = (Date.now() - accepted) / 1000;
      const message = await waitForToast('MetaComplete cannot import forged-layers.mcmodel');
      await workbench.screenshot('31-import-model-refused');
      assert.ok(message.includes('config.layers must be an integer from 1 to 8, the file has 1000000'), `the refusal does not say why: ${message}`);
      assert.ok(message.includes('The current model is unchanged.'), `the refusal does not say the model is kept: ${message}`);
      // Generous: the check takes milliseconds; the toast's round trip through the workbench most of this.
      assert.ok(seconds < 10, `the refusal took ${seconds} s`);
      assert.deepEqual(storedModels(), before, 'the forged file was stored as the model');

      const log = await workbench.waitForOutputText('MetaComplete', 'forged-layers.mcmodel was refused');
      const line = log.split('\n').find((text) => text.includes('forged-layers.mcmodel was refused')) ?? '';
      assert.ok(line.length < 400, `the log line is ${line.length} characters long`);

      await workbench.openFile('src/main.ts');
      await workbench.typeInEditor('\nconst queueAfterImport = new ');
      const shown = await waitForGhostText('GlimmerwartQueue(3);');
      await workbench.screenshot('32-ghost-text-after-refused-import');
      assert.ok(shown.includes('GlimmerwartQueue(3);'), `after the refused import the ghost text is "${shown}"`);
      await revertActiveFile();
    });
  });

  // Last: the trained model then serves completions, which the tests above expect from the n-gram model.
  it('"Start/Resume Meta-Training" trains on the fixture with its workspace settings, then "Adapt to Current File" adapts the model', async function () {
    this.timeout(300_000);
    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      await workbench.runCommand('MetaComplete: Start/Resume Meta-Training');
      // The fixture's .vscode/settings.json asks for a tiny model: 1 pre-training epoch, 3 outer steps.
      const started = await workbench.waitForOutputText('MetaComplete', 'Training started: meta-sgd', 30_000);
      assert.ok(
        started.includes("Training started: meta-sgd, support sets from each file's first part; pre-training epochs 1, outer steps 3, inner steps 5") && started.includes('200 classes, hidden 16, embedding 16'),
        `training did not start with the workspace settings:\n${started}`,
      );
      await workbench.screenshot('14-training-progress');
      // Ready again once the run ends, now with the backend the trained model runs on.
      const ready = await waitForStatusBarItem(new RegExp(`^MetaComplete: ready \\(${LEARNED_FILES} files\\) · (tensorflow|wasm|cpu)$`), 240_000);
      const backend = ready.slice(ready.lastIndexOf(' ') + 1);
      await workbench.runCommand('MetaComplete: Show Log');
      const log = await workbench.waitForOutputText('MetaComplete', 'Training: done (meta-sgd');
      for (const expected of [
        'Training: preparing tasks from the indexed files.',
        'Training: pre-training epoch 1/1, loss ',
        'Training: meta-sgd outer step 3/3, meta-loss ',
        // Of the learned files, training keeps all but the last, which it holds out to fit the gate on.
        'Training: fitting the neural / n-gram gate.',
      ]) {
        assert.ok(log.includes(expected), `the log has no "${expected}":\n${log}`);
      }
      assert.match(
        log,
        new RegExp(`Training: done \\(meta-sgd, final meta-loss \\d+\\.\\d{3}\\): model saved \\(${LEARNED_FILES - 1} files, [\\d.]+ s, ${backend}\\)\\.`),
        'no "done" line with the saved model and its backend',
      );
      assert.ok(!log.includes('[error] Training'), `training logged an error:\n${log}`);
      await workbench.screenshot('15-training-done');

      await workbench.openFile('src/frobnicator.ts');
      await workbench.runCommand('MetaComplete: Adapt to Current File');
      const adapted = await workbench.waitForOutputText('MetaComplete', 'Adapted to src/frobnicator.ts', 60_000);
      const line = /Adapted to src\/frobnicator\.ts in (\d+) steps: loss (\d+\.\d{3}) → (\d+\.\d{3}) nats\/token \(\d+ ms\)\./.exec(adapted);
      assert.ok(line !== null, `no adaptation result in the log:\n${adapted}`);
      assert.ok(Number(line[1]) > 0, `adapted in ${line[1]} steps`);
      const toast = workbench.page.locator('.notification-toast').filter({ hasText: 'Adapted to src/frobnicator.ts in' });
      await toast.first().waitFor({ state: 'visible', timeout: 10_000 });
      await workbench.screenshot('16-adapted-to-file');
    });
  });

  it('"Show Training Panel" draws the task graph, its loss curve grows while training runs, then the few-shot table and online loss while typing show', async function () {
    this.timeout(300_000);
    await withExtensionHostLogs(async () => {
      await workbench.page.keyboard.press('Escape');
      await workbench.runCommand('MetaComplete: Show Training Panel');
      // VS Code hosts a webview two iframes deep: the webview element, then its active frame.
      const panel = workbench.page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
      const graph = panel.locator('.graph');
      const numberOf = async (locator: typeof graph, name: string): Promise<number> => Number((await locator.getAttribute(name)) ?? 'NaN');
      const until = async (what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> => {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          if (await check().catch(() => false)) return;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        throw new Error(`the training panel never showed ${what}`);
      };
      await until('the task graph of the fixture', async () => (await numberOf(graph, 'data-nodes')) >= 4, 60_000);
      assert.ok((await numberOf(graph, 'data-edges')) >= 1, 'the graph has similarity edges');
      await workbench.screenshot('17-training-panel-open');

      await workbench.runCommand('MetaComplete: Start/Resume Meta-Training');
      // `data-points` is "learner:count,…": the outer-loss line gains one point per outer step.
      const outerPoints = async (): Promise<number> => {
        const text = (await panel.locator('#chart-outer-loss').getAttribute('data-points')) ?? '';
        return text.split(',').reduce((sum, part) => sum + (Number(part.split(':')[1]) || 0), 0);
      };
      const status = async (): Promise<string> => (await panel.locator('#training-status').textContent()) ?? '';
      await until('the new run under way', async () => !/^Done/.test(await status()), 60_000);
      await until('the new run finished', async () => /^Done/.test(await status()), 240_000);
      assert.ok((await outerPoints()) >= 3, `the outer-loss chart has ${await outerPoints()} points after a 3-step run`);
      assert.ok(Number(await panel.locator('body').getAttribute('data-seq')) > 0, 'the panel applied deltas');
      await workbench.screenshot('18-training-panel-trained');

      // A run ends with the few-shot table on the held-out file: one row per learner, one column per k.
      const fewShot = panel.locator('#chart-fewshot');
      await until('few-shot table rows', async () => (await fewShot.locator('tbody tr').count()) >= 1, 30_000);
      assert.ok((await fewShot.locator('thead th').count()) >= 2, 'the few-shot table has no k columns');

      // Typing in a file the model was not adapted to: dynamic evaluation reads the text and reports its loss.
      const chartPoints = async (chart: string): Promise<number> => {
        const text = (await panel.locator(`#chart-${chart}`).getAttribute('data-points')) ?? '';
        return text.split(',').reduce((sum, part) => sum + (Number(part.split(':').at(-1)) || 0), 0);
      };
      await workbench.openFile('src/glimmerwartQueue.ts');
      await workbench.typeInEditor('\nexport const snorkelTotal = new GlimmerwartQueue(3).size + zorblaxFrobnicate(3, 2);\n');
      await workbench.runCommand('MetaComplete: Show Training Panel');
      // The chart follows the file being typed in; earlier typing elsewhere does not count.
      const onlineTitle = async (): Promise<string> => (await panel.locator('#chart-online-loss h2').textContent()) ?? '';
      await until('online-loss points for the typed file', async () => /glimmerwartQueue\.ts/.test(await onlineTitle()) && (await chartPoints('online-loss')) >= 1, 60_000);
      // The charts column is taller than the editor area: bring the online chart and the table into view.
      await fewShot.scrollIntoViewIfNeeded();
      await workbench.screenshot('19-training-panel-online-loss-and-few-shot');
    });
  });
});
