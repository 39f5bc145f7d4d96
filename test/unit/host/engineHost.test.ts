import '../../bench/useVscodeStub';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineHost } from '../../../src/host/engineHost';
import { Logger } from '../../../src/host/logger';
import { DEFAULT_DEADLINES } from '../../../src/worker/engineClient';
import { logLines } from '../../bench/vscodeStub';

/** A worker that gets stuck on completions and model loads (see the file). */
const fakeWorkerScript = join(__dirname, '..', 'worker', 'fakeEngineWorker.js');
const SHORT = { ...DEFAULT_DEADLINES, completion: 200, quick: 200, storage: 200 };

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
