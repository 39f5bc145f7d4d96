import * as assert from 'node:assert/strict';
import { RestartPolicy } from '../../../src/host/restartPolicy';

describe('RestartPolicy', () => {
  it('restarts after every crash and tells the user only the first time', () => {
    const policy = new RestartPolicy(3, 60_000);
    assert.deepEqual(policy.onCrash(0), { restart: true, warnUser: true, recentCrashes: 1 });
    assert.deepEqual(policy.onCrash(1_000), { restart: true, warnUser: false, recentCrashes: 2 });
    assert.deepEqual(policy.onCrash(120_000), { restart: true, warnUser: false, recentCrashes: 1 });
  });

  it('gives up on a worker that keeps crashing, until a reset', () => {
    const policy = new RestartPolicy(3, 60_000);
    for (const time of [0, 10, 20]) assert.equal(policy.onCrash(time).restart, true);
    assert.deepEqual(policy.onCrash(30), { restart: false, warnUser: false, recentCrashes: 4 });
    policy.reset();
    assert.equal(policy.onCrash(40).restart, true);
  });
});
