// The packaged extension in the real VS Code workbench (code-server 4.100.3,
// VS Code 1.100.3) driven through headless Chromium, as a user would drive it.
// Needs `bash scripts/code-server/install.sh` and a .vsix (`npm run package`).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CodeServer, Workbench, artifactsDir, makeScratchDir, removeScratchDir, repoRoot } from './codeServer';

const EXTENSION_ID = 'metacomplete.metacomplete';

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
      // frobnicator.ts, glimmerwartQueue.ts and main.ts; the other .ts files are left out.
      assert.equal(await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/), 'MetaComplete: ready (3 files)');
      await workbench.runCommand('MetaComplete: Show Log');
      const log = await workbench.waitForOutputText('MetaComplete', 'Indexed the workspace');
      for (const expected of [
        'Skipped src/binaryBlob.ts: binary file (NUL byte in the first 8 KB).',
        'Skipped src/awsCredentials.ts: may hold secrets (**/*credentials*).',
        'Skipped src/generated/quuxelTable.ts: ignored by .gitignore (/src/generated).',
        '3 files learned, 3 skipped.',
      ]) {
        assert.ok(log.includes(expected), `the log has no "${expected}":\n${log}`);
      }
      assert.ok(!log.includes('.env'), `the log mentions .env, which the include globs never take:\n${log}`);
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
      assert.equal(await waitForStatusBarItem(/^MetaComplete: ready \(\d+ files\)$/), 'MetaComplete: ready (3 files)');

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
});
