// The indexer with the real worker (dist/worker.js) on a generated folder,
// outside VS Code through the bench's stub of the `vscode` module.
import '../../bench/vscodeHook';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as stub from '../../bench/vscodeStub';
import { registerCommands } from '../../../src/host/commands';
import { Config } from '../../../src/host/config';
import { EngineHost } from '../../../src/host/engineHost';
import { Indexer } from '../../../src/host/indexer';
import { Logger } from '../../../src/host/logger';
import { StatusBar } from '../../../src/host/statusBar';

const WORKER_SCRIPT = path.resolve(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
/** Enough files that indexing takes a while on a slow machine, small enough to index in seconds. */
const FILES = 3000;

function sourceOf(index: number): string {
  return [
    `import { computeTotal } from './shared';`,
    `export function handler${index}(input: number): number {`,
    `  const widget${index} = input * ${index};`,
    `  return widget${index} + computeTotal(widget${index}, ${index % 7});`,
    `}`,
    '',
  ].join('\n');
}

describe('Indexer', function () {
  this.timeout(120_000);
  let folder: string;
  let engine: EngineHost;
  let indexer: Indexer;
  let status: StatusBar;
  let disposables: { dispose(): void }[];

  before(() => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'metacomplete-indexer-'));
    for (let i = 0; i < FILES; i++) {
      const sub = path.join(folder, `group${Math.floor(i / 100)}`);
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `file${i}.ts`), sourceOf(i));
    }
  });

  after(() => fs.rmSync(folder, { recursive: true, force: true }));

  beforeEach(() => {
    stub.workspaceFolders.length = 0;
    stub.workspaceFolders.push({ uri: stub.Uri.file(folder), name: 'load', index: 0 });
    stub.statusBarItems.length = 0;
    stub.logLines.length = 0;
    const logger = new Logger();
    const config = new Config();
    engine = new EngineHost(WORKER_SCRIPT, logger);
    status = new StatusBar();
    indexer = new Indexer(engine, config, logger, status);
    disposables = [...registerCommands(engine, indexer, logger), indexer, status, engine];
    engine.start();
  });

  afterEach(() => {
    for (const disposable of disposables) disposable.dispose();
  });

  /** Resolves once the status bar shows indexing at `share` of the files or more. */
  async function indexingReached(share: number): Promise<{ done: number; total: number }> {
    const item = stub.statusBarItems[0];
    for (;;) {
      const progress = /indexing (\d+)\/(\d+)/.exec(item.text);
      if (progress !== null && Number(progress[1]) >= share * Number(progress[2])) return { done: Number(progress[1]), total: Number(progress[2]) };
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  it('stops a start-up index when the status bar item is clicked, and keeps what it learned usable', async () => {
    let finished = false;
    // As the extension starts it: no notification, no token.
    const indexing = indexer.indexWorkspace().then(() => (finished = true));
    const reached = await indexingReached(0.1);
    assert.equal(finished, false, 'the folder was indexed before the test could cancel; make it larger');
    const item = stub.statusBarItems[0];
    assert.equal(item.command, 'metacomplete.cancelIndexing');
    assert.match(item.tooltip, /Click to cancel indexing/);
    await stub.commands.executeCommand(item.command);
    await indexing;

    const stats = await engine.request({ type: 'engine/stats' });
    assert.ok(stats.files >= reached.done / 2 && stats.files < FILES / 2, `${stats.files} files learned of ${FILES}, cancelled at ${reached.done}`);
    assert.equal(item.text, `MetaComplete: ready (${stats.files} files)`);
    assert.match(item.tooltip, /indexing was stopped/);
    assert.notEqual(item.command, 'metacomplete.cancelIndexing');
    const completion = await engine.request({ type: 'completion/complete', path: 'load/new.ts', textBefore: 'export function handler1(input: number): number {\n  const ', k: 5 });
    assert.ok(completion.suggestions.some((suggestion) => suggestion.token.startsWith('widget')), JSON.stringify(completion.suggestions));
  });

  it('indexes in full the next time after a cancelled run', async () => {
    const first = indexer.indexWorkspace();
    await indexingReached(0.1);
    await stub.commands.executeCommand('metacomplete.cancelIndexing');
    await first;
    await indexer.indexWorkspace();
    assert.equal((await engine.request({ type: 'engine/stats' })).files, FILES);
    assert.equal(stub.statusBarItems[0].text, `MetaComplete: ready (${FILES} files)`);
  });

  it('says so when Cancel Indexing runs while nothing is indexing', async () => {
    await stub.commands.executeCommand('metacomplete.cancelIndexing');
    assert.ok(stub.logLines.includes('[notification] MetaComplete: no indexing is running.'), stub.logLines.join('\n'));
  });
});
