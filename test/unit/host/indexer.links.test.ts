// The indexer on a real folder, outside VS Code through the bench's stub of the `vscode` module.
import '../../bench/vscodeHook';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Indexer } from '../../../src/host/indexer';
import * as stub from '../../bench/vscodeStub';
import { SECRET_NPMRC } from '../core/text/secretFixtures';

describe('Indexer and symbolic links', () => {
  let base: string;

  before(() => {
    base = mkdtempSync(join(tmpdir(), 'metacomplete-indexer-links-'));
    mkdirSync(join(base, 'workspace', 'src'), { recursive: true });
    mkdirSync(join(base, 'home', 'lib'), { recursive: true });
    writeFileSync(join(base, 'home', '.npmrc'), SECRET_NPMRC);
    writeFileSync(join(base, 'home', 'lib', 'outside.ts'), 'export const outside = 1;\n');
    writeFileSync(join(base, 'workspace', 'src', 'real.ts'), 'export const inside = 1;\n');
    symlinkSync(join(base, 'home', '.npmrc'), join(base, 'workspace', 'src', 'npmrc.py'));
    symlinkSync(join(base, 'workspace', 'src', 'real.ts'), join(base, 'workspace', 'src', 'alias.ts'));
    symlinkSync(join(base, 'home', 'lib'), join(base, 'workspace', 'lib'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  it('reads no linked file or folder whose real path leaves the workspace, and logs why', async () => {
    stub.workspaceFolders.splice(0, stub.workspaceFolders.length, { uri: stub.Uri.file(join(base, 'workspace')), name: 'workspace', index: 0 });
    const settings = { include: ['**/*.{ts,py}'], exclude: [], maxFileSizeKB: 512 };
    const config = { current: settings, forFolder: () => settings, onDidChange: () => new stub.Disposable() };
    const sent: string[] = [];
    const engine = {
      isRunning: true,
      request: async (request: { type: string; files?: { path: string }[] }) => {
        if (request.type !== 'files/update') return { removed: 0 };
        sent.push(...(request.files ?? []).map((file) => file.path));
        return (request.files ?? []).map((file) => ({ path: file.path, status: 'learned', tokens: 1 }));
      },
    };
    const log: string[] = [];
    const logger = { info: (line: string) => log.push(line), warn: (line: string) => log.push(line), error: (line: string) => log.push(line) };
    const status = { setIndexing: () => undefined, setReady: () => undefined };
    const indexer = new Indexer(engine as never, config as never, logger as never, status as never);
    try {
      await indexer.indexWorkspace();
    } finally {
      indexer.dispose();
      stub.workspaceFolders.length = 0;
    }
    assert.deepEqual(sent.sort(), ['src/alias.ts', 'src/real.ts'], 'a link that stays inside is read, one that leaves is not');
    assert.ok(log.some((line) => /^Skipped src\/npmrc\.py: it is a symbolic link .* outside the workspace folders, not followed\.$/.test(line)), log.join('\n'));
    assert.ok(log.some((line) => /^Skipped lib\/: symbolic link to a folder, not followed\.$/.test(line)), log.join('\n'));
  });
});
