import '../../bench/vscodeHook';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineHost } from '../../../src/host/engineHost';
import { Logger } from '../../../src/host/logger';
import { DEFAULT_DEADLINES } from '../../../src/worker/engineClient';
import { logLines } from '../../bench/vscodeStub';

/** A worker that gets stuck on completions and model loads (see the file). */
const fakeWorkerScript = join(__dirname, '..', 'worker', 'fakeEngineWorker.js');
const SHORT = { ...DEFAULT_DEADLINES, completion: 200, quick: 200, wholeWorkspace: 200 };

describe('EngineHost', () => {
  let host: EngineHost;
  let logger: Logger;
  beforeEach(() => {
    logLines.length = 0;
    logger = new Logger();
    host = new EngineHost(fakeWorkerScript, logger, undefined, SHORT);
    void host.start();
  });
  afterEach(() => {
    host.dispose();
    logger.dispose();
  });

  it('restarts a worker that misses a deadline as it restarts a crashed one, and the caller gets a rejection', async () => {
    const restarts: string[] = [];
    host.onDidRestart((cause) => restarts.push(cause));
    await assert.rejects(
      host.request({ type: 'completion/complete', path: 'a.ts', textBefore: 'x', k: 1 }),
      /engine worker did not answer completion\/complete within 200 ms/,
    );
    assert.deepEqual(restarts, ['crash']);
    assert.deepEqual(await host.request({ type: 'engine/stats' }), { files: 0 }, 'the new worker serves');
    assert.ok(logLines.some((line) => /MetaComplete's engine stopped \(engine worker did not answer/.test(line)), 'the user is told once');
  });

  it('clears its storage folder of temporaries left by a save that never finished when it starts', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'mc-host-'));
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    const leftOver = `.index.mcstate.${dead}.0123456789ab.tmp`;
    writeFileSync(join(storage, leftOver), '');
    writeFileSync(join(storage, 'index.mcstate'), 'kept');
    const withStorage = new EngineHost(fakeWorkerScript, logger, storage, SHORT);
    try {
      await withStorage.start();
      assert.deepEqual(readdirSync(storage), ['index.mcstate']);
    } finally {
      withStorage.dispose();
      rmSync(storage, { recursive: true, force: true });
    }
  });

  it('gives up on a worker that keeps missing deadlines and says how to try again', async () => {
    const failures: string[] = [];
    host.onDidFail((message) => failures.push(message));
    for (let attempt = 0; attempt < 4; attempt++) {
      await assert.rejects(host.request({ type: 'completion/complete', path: 'a.ts', textBefore: 'x', k: 1 }), /did not answer/);
    }
    assert.equal(host.isRunning, false);
    assert.match(failures[0] ?? '', /stopped answering 4 times in a minute and was not restarted; run "MetaComplete: Reset Model"/);
    await assert.rejects(host.request({ type: 'engine/stats' }), /not running/);
  });
});

describe('EngineHost: a workspace whose index another window saves', function () {
  this.timeout(30_000);
  const workerScript = join(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
  const lockModule = join(__dirname, '..', '..', '..', 'src', 'core', 'persist', 'indexLock.js');

  it('tells the user once that this window keeps its index in memory, and leaves the other window\'s index as it was', async () => {
    const storage = mkdtempSync(join(tmpdir(), 'mc-host-lock-'));
    const indexPath = join(storage, 'index.mcstate');
    writeFileSync(indexPath, "the other window's index");
    const script = `new (require(${JSON.stringify(lockModule)}).IndexLock)(${JSON.stringify(indexPath)}).acquire().then((o) => { console.log(o.held); setInterval(() => {}, 1000); });`;
    const other = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    logLines.length = 0;
    const logger = new Logger();
    const host = new EngineHost(workerScript, logger, storage);
    try {
      const held = await new Promise<string>((resolve) => other.stdout?.once('data', (data: Buffer) => resolve(data.toString().trim())));
      assert.equal(held, 'true', 'the other window holds the lock');
      await host.start();
      for (const text of ['export const first = 1;', 'export const second = 2;']) {
        await host.request({ type: 'files/update', files: [{ path: 'src/a.ts', bytes: new TextEncoder().encode(text) }] });
        await host.saveIndex();
      }
      const notices = logLines.filter((line) => line.startsWith('[notification] MetaComplete could not save its index'));
      assert.equal(notices.length, 1, `one notice, not one per save: ${notices.join(' | ')}`);
      assert.match(notices[0], new RegExp(`another VS Code window \\(process ${other.pid}, since [^)]+\\) saves this workspace's index, so this window keeps its index in memory`));
      assert.equal(readFileSync(indexPath, 'utf8'), "the other window's index");
    } finally {
      host.dispose();
      logger.dispose();
      other.kill();
      rmSync(storage, { recursive: true, force: true });
    }
  });
});

describe('EngineHost: the stored model', () => {
  /** The bundled worker, as the extension starts it. */
  const workerScript = join(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
  let storage: string;
  let logger: Logger;
  const hosts: EngineHost[] = [];
  /** One activation of the extension on the workspace. */
  const activate = (script: string): EngineHost => {
    // The real worker gets the real deadlines: its first load starts TensorFlow.js.
    const host = new EngineHost(script, logger, storage, script === fakeWorkerScript ? SHORT : DEFAULT_DEADLINES);
    hosts.push(host);
    void host.start();
    return host;
  };
  beforeEach(() => {
    logLines.length = 0;
    logger = new Logger();
    storage = mkdtempSync(join(tmpdir(), 'mc-host-'));
  });
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
    logger.dispose();
    rmSync(storage, { recursive: true, force: true });
  });

  const setAside = () => readdirSync(storage).filter((name) => /^model\.mcmodel\.rejected-\d{8}T\d{6}Z$/.test(name));

  it('sets aside a model the worker refuses at two starts, tells the user, and does not try it at the third', async () => {
    const model = join(storage, 'model.mcmodel');
    writeFileSync(model, 'not a model');
    assert.equal(await activate(workerScript).loadStoredModel(), undefined);
    assert.ok(existsSync(model), 'one failure may be passing: the model stays');
    assert.equal(await activate(workerScript).loadStoredModel(), undefined);
    assert.equal(existsSync(model), false);
    assert.equal(setAside().length, 1);
    assert.equal(readFileSync(join(storage, setAside()[0]), 'utf8'), 'not a model', 'nothing is lost');
    const notices = logLines.filter((line) => line.startsWith('[notification]'));
    assert.match(notices[notices.length - 1], /the trained model kept failing to load \(.*not a MetaComplete file.*\), so it was set aside as model\.mcmodel\.rejected-\d+T\d+Z; retrain it or import another model\.$/);
    assert.equal(await activate(workerScript).loadStoredModel(), undefined);
    assert.equal(setAside().length, 1);
  });

  it('sets aside a model the worker hangs on, after the restart that followed the first miss', async () => {
    writeFileSync(join(storage, 'model.mcmodel'), 'a model the engine loops on');
    const host = activate(fakeWorkerScript);
    const restarts: string[] = [];
    host.onDidRestart((cause) => restarts.push(cause));
    assert.equal(await host.loadStoredModel(), undefined);
    assert.deepEqual(restarts, ['crash']);
    assert.equal(await host.loadStoredModel(), undefined, 'what the host does after a crash restart');
    assert.equal(setAside().length, 1);
    assert.deepEqual(await host.request({ type: 'engine/stats' }), { files: 0 }, 'the engine serves without it');
  });

  it('counts afresh for a model that replaced the failing one (retrained or imported)', async () => {
    const model = join(storage, 'model.mcmodel');
    writeFileSync(model, 'not a model');
    assert.equal(await activate(workerScript).loadStoredModel(), undefined);
    writeFileSync(model, 'another file, not a model either');
    assert.equal(await activate(workerScript).loadStoredModel(), undefined);
    assert.ok(existsSync(model), 'the new file failed once only');
    assert.deepEqual(setAside(), []);
  });
});
