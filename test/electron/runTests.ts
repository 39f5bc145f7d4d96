// `npm run test:electron`: the extension's integration suite inside VS Code
// desktop, downloaded by @vscode/test-electron. For machines with internet
// (or a local VS Code: METACOMPLETE_VSCODE_EXECUTABLE); where VS Code cannot
// be downloaded, as on our build machines, the code-server suite
// (`npm run test:e2e`) is the one that runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TestRunFailedError, runTests } from '@vscode/test-electron';

/** The VS Code the suite runs in by default: the one code-server 4.100.3 is built on, so both suites see the same API. */
const DEFAULT_VSCODE_VERSION = '1.100.3';

const repo = path.resolve(__dirname, '..', '..', '..');

async function main(): Promise<number> {
  const version = process.env.METACOMPLETE_VSCODE_VERSION ?? DEFAULT_VSCODE_VERSION;
  const executable = process.env.METACOMPLETE_VSCODE_EXECUTABLE;
  // A scratch copy: the suite edits files, and the fixture must stay as committed.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'metacomplete-electron-'));
  const workspace = path.join(scratch, 'e2e-workspace');
  fs.cpSync(path.join(repo, 'test', 'fixtures', 'e2e-workspace'), workspace, { recursive: true });
  try {
    await runTests({
      ...(executable !== undefined ? { vscodeExecutablePath: executable } : { version }),
      extensionDevelopmentPath: repo,
      extensionTestsPath: path.join(__dirname, 'suite', 'index.js'),
      launchArgs: [
        workspace,
        '--disable-extensions',
        '--disable-workspace-trust',
        '--skip-welcome',
        '--skip-release-notes',
        '--user-data-dir', path.join(scratch, 'user-data'),
      ],
    });
    return 0;
  } catch (error) {
    if (error instanceof TestRunFailedError) {
      process.stderr.write(`test:electron: the suite failed inside VS Code (${error.message}); its output is above.\n`);
      return 1;
    }
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(
      `test:electron: could not download or start VS Code ${executable ?? version} (${reason}). ` +
        'This suite needs internet access to download VS Code, or METACOMPLETE_VSCODE_EXECUTABLE set to an installed one; ' +
        'where neither is possible, `npm run test:e2e` runs the extension in code-server instead.\n',
    );
    return 1;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

void main().then((code) => {
  process.exitCode = code;
});
