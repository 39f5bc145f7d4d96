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
});
