import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ENGINE_PROTOCOL_VERSION } from '../../../src/protocol/engineProtocol';
import { EngineClient } from '../../../src/worker/engineClient';

// The bundled worker, as the extension starts it (`npm test` builds dist/ first).
const workerScript = join(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
const encode = (text: string) => new TextEncoder().encode(text);

describe('engine worker', () => {
  let client: EngineClient;
  beforeEach(() => {
    client = new EngineClient(workerScript);
  });
  afterEach(async () => {
    await client.dispose();
  });

  it('learns files and completes in the worker thread', async () => {
    const updates = await client.request({
      type: 'files/update',
      files: [
        { path: 'a.ts', bytes: encode('export const snorkelWidget = 1;\nsnorkelWidget.toFixed();') },
        { path: 'b.bin', bytes: new Uint8Array([0, 1, 2]) },
      ],
    });
    assert.deepEqual(updates.map((update) => update.status), ['learned', 'skipped']);
    const completion = await client.request({ type: 'completion/complete', path: 'c.ts', textBefore: 'snork', k: 3 });
    assert.equal(completion.suggestions[0].token, 'snorkelWidget');
    const stats = await client.request({ type: 'engine/stats' });
    assert.equal(stats.files, 1);
  });

  it('answers a malformed request with an error and keeps serving', async () => {
    await assert.rejects(
      client.request({ type: 'completion/complete', path: 'c.ts', textBefore: 'x', k: 0 }),
      /malformed request: completion\/complete needs k between 1 and 100/,
    );
    await assert.rejects(client.request({ type: 'nope' } as never), /unknown request type "nope"/);
    const stats = await client.request({ type: 'engine/stats' });
    assert.equal(stats.files, 0);
  });

  it('rejects pending and later requests once the worker is gone, and reports it once', async () => {
    const reasons: string[] = [];
    client.onExit = (reason) => reasons.push(reason);
    // Terminating the thread from outside stands in for a crash.
    const pending = client.request({ type: 'engine/stats' });
    await (client as unknown as { worker: Worker }).worker.terminate();
    await assert.rejects(pending, /engine worker exited/);
    await assert.rejects(client.request({ type: 'engine/stats' }), /engine worker exited/);
    assert.equal(reasons.length, 1);
  });

  it('refuses a message from another protocol version', async () => {
    const worker = new Worker(workerScript);
    try {
      const reply = new Promise<unknown>((resolve) => worker.once('message', resolve));
      worker.postMessage({ version: ENGINE_PROTOCOL_VERSION + 1, id: 7, request: { type: 'engine/stats' } });
      const response = (await reply) as { ok: boolean; id: number; error: string };
      assert.equal(response.ok, false);
      assert.equal(response.id, 7);
      assert.match(response.error, /protocol version/);
    } finally {
      await worker.terminate();
    }
  });
});
