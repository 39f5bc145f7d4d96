import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IndexLock, describeLockedIndex } from '../../../../src/core/persist/indexLock';

const HOST = 'this-machine';

describe('IndexLock: two windows on one saved index', () => {
  let dir: string;
  let indexPath: string;
  /** Pids of the windows a test pretends are still open. */
  let alive: Set<number>;
  const windowOf = (pid: number) => new IndexLock(indexPath, { pid, host: HOST }, (candidate) => alive.has(candidate));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-lock-'));
    indexPath = join(dir, 'index.mcstate');
    alive = new Set([101, 202]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lets the first window save and tells the second who does', async () => {
    const first = windowOf(101);
    const second = windowOf(202);
    assert.deepEqual(await first.acquire(), { held: true });
    const refused = await second.acquire();
    assert.equal(refused.held, false);
    assert.equal(refused.held === false ? refused.owner?.pid : undefined, 101);
    // The first window keeps it at every later save.
    assert.deepEqual(await first.acquire(), { held: true });
    assert.equal((await second.acquire()).held, false);
  });

  it('hands the lock to the second window once the first one\'s process is gone', async () => {
    await windowOf(101).acquire();
    alive.delete(101);
    assert.deepEqual(await windowOf(202).acquire(), { held: true });
    alive.add(101);
    // A new window that got the dead one's pid is a different window now that 202 holds the lock.
    assert.equal((await windowOf(101).acquire()).held, false);
  });

  it('is free again once the holder releases it, and release leaves another window\'s lock alone', async () => {
    const first = windowOf(101);
    const second = windowOf(202);
    await first.acquire();
    await second.release();
    assert.equal((await second.acquire()).held, false);
    await first.release();
    assert.deepEqual(await second.acquire(), { held: true });
  });

  it('takes over an unreadable lock file only once it is old (a crash mid-write), not while it is being written', async () => {
    writeFileSync(`${indexPath}.lock`, '');
    assert.equal((await windowOf(202).acquire()).held, false);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${indexPath}.lock`, old, old);
    assert.deepEqual(await windowOf(202).acquire(), { held: true });
  });

  it('says in one line which window saves the index and that this one does not', () => {
    const message = describeLockedIndex({ pid: 101, host: 'elsewhere', since: '2026-12-05T19:00:00.000Z' });
    assert.match(message, /^another VS Code window \(process 101 on elsewhere, since 2026-12-05T19:00:00.000Z\) saves this workspace's index, so this window keeps its index in memory and does not save it$/);
    assert.ok(!message.includes('\n'));
  });
});
