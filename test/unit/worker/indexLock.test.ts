import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../../src/worker/engineClient';

describe('engine worker saving an index another window holds', function () {
  this.timeout(30_000);
  const workerScript = join(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
  const lockModule = join(__dirname, '..', '..', '..', 'src', 'core', 'persist', 'indexLock.js');
  let dir: string;
  let holder: ChildProcess | undefined;
  let client: EngineClient | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-lock-worker-'));
  });
  afterEach(async () => {
    holder?.kill();
    await client?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Another window: a process that takes the lock and stays until killed. */
  function otherWindow(indexPath: string): Promise<ChildProcess> {
    const script = `new (require(${JSON.stringify(lockModule)}).IndexLock)(${JSON.stringify(indexPath)}).acquire().then((o) => { console.log(o.held); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve, reject) => {
      child.stdout?.once('data', (data: Buffer) => (data.toString().trim() === 'true' ? resolve(child) : reject(new Error(`the other window did not get the lock: ${data}`))));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the other window exited with code ${code}`)));
    });
  }

  it('refuses with the one-line message and leaves the other window\'s index as it was, then saves once that window is closed', async () => {
    const indexPath = join(dir, 'index.mcstate');
    writeFileSync(indexPath, 'the other window\'s index');
    holder = await otherWindow(indexPath);
    client = new EngineClient(workerScript);
    await client.request({ type: 'files/update', files: [{ path: 'src/a.ts', bytes: new TextEncoder().encode('export const kept = 1;') }] });

    await assert.rejects(client.request({ type: 'engine/save', path: indexPath }), (error: Error) => {
      assert.match(error.message, new RegExp(`^another VS Code window \\(process ${holder?.pid}, since [^)]+\\) saves this workspace's index`));
      return true;
    });
    assert.equal(readFileSync(indexPath, 'utf8'), 'the other window\'s index');
    // This window still works from its own index.
    const completion = await client.request({ type: 'completion/complete', path: 'src/b.ts', textBefore: 'export const ', k: 3 });
    assert.equal(completion.suggestions[0]?.token, 'kept');

    const closed = new Promise((resolve) => holder?.once('exit', resolve));
    holder.kill();
    await closed;
    const saved = await client.request({ type: 'engine/save', path: indexPath });
    assert.equal(saved.files, 1);
    assert.notEqual(readFileSync(indexPath, 'utf8'), 'the other window\'s index');
  });
});
