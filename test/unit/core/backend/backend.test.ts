import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';

function tfjsNodeInstalled(): boolean {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
}

/** Runs `initBackend` in a fresh process, where no backend has been initialised yet. */
function initInChildProcess(options: string): { choice?: { name: string; reason: string }; error?: string; log: string[] } {
  const modulePath = path.resolve(__dirname, '../../../../src/core/backend/backend.js');
  const script = `
    const { initBackend } = require(${JSON.stringify(modulePath)});
    const log = [];
    initBackend({ ...${options}, log: (m) => log.push(m) })
      .then((choice) => console.log(JSON.stringify({ choice, log })))
      .catch((e) => console.log(JSON.stringify({ error: e.message, log })));`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}');
}

describe('initBackend', () => {
  after(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('loads WebAssembly (or tfjs-node when installed), never cpu, by default', async () => {
    const messages: string[] = [];
    const choice = await initBackend({ log: (message) => messages.push(message) });
    assert.equal(choice.name, tfjsNodeInstalled() ? 'tensorflow' : 'wasm', choice.reason);
    assert.equal(tf.getBackend(), choice.name);
    assert.ok(messages.some((message) => message.includes(choice.name)), 'the choice is logged');
    if (!tfjsNodeInstalled()) assert.match(choice.reason, /tfjs-node/, 'the reason says why tensorflow was skipped');
  });

  it('loads the wasm backend when forced, and computes with it', async () => {
    const choice = await initBackend({ force: 'wasm' });
    assert.equal(choice.name, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    const product = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
    assert.deepEqual(Array.from(product.dataSync()), [11]);
    product.dispose();
  });

  it('switches to cpu when forced', async () => {
    const choice = await initBackend({ force: 'cpu' });
    assert.equal(choice.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('rejects a forced tensorflow backend with a clear error when tfjs-node is missing', async function () {
    if (tfjsNodeInstalled()) this.skip();
    const before = tf.getBackend();
    await assert.rejects(initBackend({ force: 'tensorflow' }), /tensorflow backend was requested.*@tensorflow\/tfjs-node/);
    assert.equal(tf.getBackend(), before, 'a failed force leaves the current backend alone');
  });

  it('warns, with the reason, when it must fall back to cpu', function () {
    this.timeout(60_000);
    const fallback = initInChildProcess(`{ wasmDir: '/nonexistent/wasm' }`);
    assert.equal(fallback.choice?.name, tfjsNodeInstalled() ? 'tensorflow' : 'cpu');
    if (!tfjsNodeInstalled()) {
      const warning = fallback.log.find((line) => line.startsWith('warning:'));
      assert.ok(warning, `a warning is logged: ${fallback.log.join(' | ')}`);
      assert.match(warning, /falling back to the pure-JS cpu backend/);
      assert.match(warning, /not found in \/nonexistent\/wasm/);
    }
    const forced = initInChildProcess(`{ force: 'wasm', wasmDir: '/nonexistent/wasm' }`);
    assert.match(forced.error ?? '', /wasm backend was requested but could not be used: .*not found/);
  });
});
