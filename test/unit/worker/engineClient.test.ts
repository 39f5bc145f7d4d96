import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { initBackend } from '../../../src/core/backend/backend';
import { GATE_FEATURE_COUNT } from '../../../src/core/mix/gate';
import { UNK_TOKEN, disposeTrainedModel } from '../../../src/core/experiment/model';
import type { TrainedModel } from '../../../src/core/experiment/model';
import { flattenParams, initLstmParams } from '../../../src/core/neural/lstm';
import { saveModelCheckpoint } from '../../../src/core/persist/modelCheckpoint';
import { ENGINE_PROTOCOL_VERSION } from '../../../src/protocol/engineProtocol';
import { DEFAULT_DEADLINES, EngineClient, deadlineOf } from '../../../src/worker/engineClient';

// The bundled worker, as the extension starts it (`npm test` builds dist/ first).
const workerScript = join(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
/** A worker that gets stuck on some requests (see the file). */
const fakeWorkerScript = join(__dirname, 'fakeEngineWorker.js');
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

  it('answers a completion asked during a large batch before the batch ends, from the files learned so far', async () => {
    await client.request({ type: 'files/update', files: [{ path: 'first.ts', bytes: encode('export const snorkelWidget = 1;\nsnorkelWidget.toFixed();') }] });
    // 48 files of 40 KB: learning them takes far longer than one completion.
    const body = Array.from({ length: 1200 }, (_, line) => `export const value${line} = compute(${line}, 'label${line}');`).join('\n');
    const files = Array.from({ length: 48 }, (_, index) => ({ path: `big${index}.ts`, bytes: encode(body) }));
    const order: string[] = [];
    const batch = client.request({ type: 'files/update', files }).then((updates) => {
      order.push('batch');
      return updates;
    });
    const completion = client.request({ type: 'completion/complete', path: 'c.ts', textBefore: 'snork', k: 3 }).then((answer) => {
      order.push('completion');
      return answer;
    });
    assert.equal((await completion).suggestions[0]?.token, 'snorkelWidget');
    assert.equal((await batch).filter((update) => update.status === 'learned').length, 48, 'the whole batch is learned');
    assert.deepEqual(order, ['completion', 'batch'], 'the suggest list did not wait for the batch');
  });

  it('learns a whole batch that holds a file of templates nested 50,000 deep', async () => {
    const updates = await client.request({
      type: 'files/update',
      files: [
        { path: 'nested.ts', bytes: encode(`const x = ${'`${\n'.repeat(50_000)}`) },
        { path: 'a.ts', bytes: encode('export const snorkelWidget = 1;') },
      ],
    });
    assert.deepEqual(updates, [
      { path: 'nested.ts', status: 'learned', tokens: 4 },
      { path: 'a.ts', status: 'learned', tokens: 6 },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'metacomplete-nested-'));
    try {
      const saved = await client.request({ type: 'engine/save', path: join(dir, 'index.bin') });
      assert.equal(saved.files, 2, 'the index is saved with both files');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe('engine worker persistence', () => {
  let dir: string;
  const clients: EngineClient[] = [];
  const start = () => {
    const client = new EngineClient(workerScript);
    clients.push(client);
    return client;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-worker-'));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function learnWorkspace(client: EngineClient): Promise<void> {
    await client.request({
      type: 'files/update',
      files: [
        { path: 'src/a.ts', bytes: encode('export const snorkelWidget = 1;\nsnorkelWidget.toFixed();'), stamp: '55:1700' },
        { path: 'src/b.ts', bytes: encode('import { snorkelWidget } from "./a";\nsnorkelWidget.toString();'), stamp: '61:1800' },
        { path: 'src/c.ts', bytes: encode('const plain = 3;') },
      ],
    });
  }

  it('saves the index and a new worker restores it without the files: same completions and stats', async () => {
    const first = start();
    await learnWorkspace(first);
    const target = join(dir, 'storage', 'index.mcstate');
    const saved = await first.request({ type: 'engine/save', path: target });
    assert.equal(saved.files, 3);
    assert.equal(readFileSync(target).length, saved.bytes);

    const second = start();
    const restored = await second.request({ type: 'engine/restore', path: target });
    assert.ok(restored.restored);
    assert.deepEqual(
      restored.files.sort((a, b) => a.path.localeCompare(b.path)),
      [{ path: 'src/a.ts', stamp: '55:1700' }, { path: 'src/b.ts', stamp: '61:1800' }, { path: 'src/c.ts' }],
    );
    const context = { type: 'completion/complete', path: 'src/d.ts', textBefore: 'snorkelWidget.to', k: 5 } as const;
    assert.deepEqual(await second.request(context), await first.request(context));
    const [before, after] = await Promise.all([first.request({ type: 'engine/stats' }), second.request({ type: 'engine/stats' })]);
    assert.deepEqual(after, before);
  });

  it('saves the state as it was when the save was asked, while later requests go on', async () => {
    const client = start();
    await learnWorkspace(client);
    const target = join(dir, 'index.mcstate');
    const saving = client.request({ type: 'engine/save', path: target });
    const later = client.request({ type: 'files/update', files: [{ path: 'src/late.ts', bytes: encode('const lateComer = 1;') }] });
    const [saved] = await Promise.all([saving, later]);
    assert.equal(saved.files, 3);
    const fresh = start();
    const restored = await fresh.request({ type: 'engine/restore', path: target });
    assert.ok(restored.restored);
    assert.ok(!restored.files.some((file) => file.path === 'src/late.ts'));
    assert.equal((await client.request({ type: 'engine/stats' })).files, 4);
  });

  it('reports a missing index as nothing saved, and a corrupt one with its reason, and keeps serving', async () => {
    const client = start();
    const missing = await client.request({ type: 'engine/restore', path: join(dir, 'none.mcstate') });
    assert.deepEqual(missing, { restored: false, missing: true, reason: 'the file does not exist' });

    await learnWorkspace(client);
    const target = join(dir, 'index.mcstate');
    await client.request({ type: 'engine/save', path: target });
    const bytes = readFileSync(target);
    bytes[bytes.length >> 1] ^= 0x55;
    writeFileSync(target, bytes);

    const fresh = start();
    const corrupt = await fresh.request({ type: 'engine/restore', path: target });
    assert.deepEqual(corrupt, { restored: false, missing: false, reason: 'checksum mismatch, the file is corrupt' });
    assert.equal((await fresh.request({ type: 'engine/stats' })).files, 0, 'a bad file changes nothing');
    await learnWorkspace(fresh);
    assert.equal((await fresh.request({ type: 'completion/complete', path: 'x.ts', textBefore: 'snork', k: 1 })).suggestions[0].token, 'snorkelWidget');
  });

  it('refuses relative state paths as malformed', async () => {
    const client = start();
    for (const type of ['engine/save', 'engine/restore', 'model/load'] as const) {
      await assert.rejects(client.request({ type, path: 'relative/file' }), new RegExp(`malformed request: ${type} path must be an absolute path`));
    }
  });

  describe('model/load', () => {
    let model: TrainedModel;
    before(async () => {
      await initBackend({ force: 'wasm' });
    });
    beforeEach(() => {
      model = {
        learner: 'meta-sgd',
        config: { vocabSize: 4, embeddingSize: 3, hiddenSize: 2, layers: 1 },
        classTokens: [UNK_TOKEN, 'a', 'b', 'c'],
        params: flattenParams(initLstmParams({ vocabSize: 4, embeddingSize: 3, hiddenSize: 2, layers: 1 }, 1)),
        hyper: {
          innerLr: 0.1, innerSteps: 1, alpha: 1, beta: 1, dynamicLr: 0.01, dynamicDecay: 0.01, dynamicSegment: 10,
          support: 'prefix', supportFraction: 0.5, seed: 1,
        },
        provenance: { files: 1 },
      };
    });
    afterEach(() => disposeTrainedModel(model));

    it('validates and keeps a checkpoint, reporting learner and vocabulary size', async () => {
      const target = join(dir, 'model.mcmodel');
      await saveModelCheckpoint(target, model);
      const client = start();
      const info = await client.request({ type: 'model/load', path: target });
      assert.equal(info.learner, 'meta-sgd');
      assert.equal(info.vocabSize, 4);
      assert.ok(['tensorflow', 'wasm', 'cpu'].includes(info.backend));
      assert.deepEqual((await client.request({ type: 'engine/stats' })).model, info);
    });

    it('mixes a model whose classes include tokens the workspace lacks (one trained elsewhere) into completions and ghost text', async () => {
      const foreign: TrainedModel = {
        ...model,
        classTokens: [UNK_TOKEN, 'alpha', 'zquuxOnlyElsewhere', ';'],
        gate: { order: 6, weights: new Array<number>(GATE_FEATURE_COUNT).fill(0), bias: 0 },
      };
      const target = join(dir, 'foreign.mcmodel');
      await saveModelCheckpoint(target, foreign);
      const client = start();
      await client.request({ type: 'files/update', files: [{ path: 'x.ts', bytes: new TextEncoder().encode('alpha; alpha; alpha;\n'.repeat(5)) }] });
      await client.request({ type: 'model/load', path: target });
      const completion = await client.request({ type: 'completion/complete', path: 'y.ts', textBefore: 'alpha; alpha; ', k: 5 });
      assert.ok(completion.suggestions.length > 0);
      const ghost = await client.request({
        type: 'completion/continue', path: 'y.ts', textBefore: 'alpha; alpha; ', textAfter: '', maxTokens: 8, beamWidth: 3, minProbability: 0.01,
      });
      assert.equal(ghost.tokens[0], 'alpha');
      const stats = await client.request({ type: 'engine/stats' });
      assert.equal(stats.model?.failure, undefined, `the neural side failed: ${stats.model?.failure}`);
    });

    it('refuses a corrupt checkpoint with the reason and keeps the model it had', async () => {
      const good = join(dir, 'model.mcmodel');
      await saveModelCheckpoint(good, model);
      const client = start();
      const info = await client.request({ type: 'model/load', path: good });
      const bad = join(dir, 'bad.mcmodel');
      const bytes = readFileSync(good);
      writeFileSync(bad, bytes.subarray(0, bytes.length - 7));
      await assert.rejects(client.request({ type: 'model/load', path: bad }), /bad\.mcmodel cannot be used: the file is truncated/);
      assert.deepEqual((await client.request({ type: 'engine/stats' })).model, info);
    });
  });
});

describe('engine worker deadlines', () => {
  const clients: EngineClient[] = [];
  const start = (deadlines = DEFAULT_DEADLINES) => {
    const client = new EngineClient(fakeWorkerScript, deadlines);
    clients.push(client);
    return client;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });

  it('rejects a request the worker never answers once its deadline passes, with the reason, and stops the worker once', async () => {
    const client = start({ ...DEFAULT_DEADLINES, completion: 200, quick: 200 });
    const reasons: string[] = [];
    client.onExit = (reason) => reasons.push(reason);
    assert.deepEqual(await client.request({ type: 'engine/stats' }), { files: 0 });
    const stuck = client.request({ type: 'completion/complete', path: 'a.ts', textBefore: 'x', k: 1 });
    const queued = client.request({ type: 'engine/stats' });
    await assert.rejects(stuck, /engine worker did not answer completion\/complete within 200 ms and was stopped/);
    await assert.rejects(queued, /did not answer completion\/complete/);
    await assert.rejects(client.request({ type: 'engine/stats' }), /did not answer completion\/complete/);
    assert.deepEqual(reasons, ['engine worker did not answer completion/complete within 200 ms and was stopped']);
  });

  it('starts a request\'s clock when the worker is free for it: a completion behind a slow batch is answered', async () => {
    // The batch holds the worker for 1,200 ms, more than the 800 ms the request after it has.
    const client = start({ ...DEFAULT_DEADLINES, completion: 800, quick: 800, update: 10_000 });
    const batch = client.request({ type: 'files/update', files: [] });
    const stats = client.request({ type: 'engine/stats' });
    assert.deepEqual(await batch, []);
    assert.deepEqual(await stats, { files: 0 });
  });

  it('gives a batch time in proportion to its bytes, and training/start only the time to answer (the run reports by events)', () => {
    const file = (megabytes: number) => ({ path: 'a.ts', bytes: new Uint8Array(megabytes * 1024 * 1024) });
    const small = deadlineOf({ type: 'files/update', files: [file(0)] });
    const large = deadlineOf({ type: 'files/update', files: [file(4), file(4)] });
    assert.equal(large - small, 8 * DEFAULT_DEADLINES.perMegabyte);
    assert.ok(deadlineOf({ type: 'completion/complete', path: 'a.ts', textBefore: '', k: 1 }) < small);
    assert.equal(deadlineOf({ type: 'training/start', learner: 'reptile', modelPath: '/m', overrides: {} }), DEFAULT_DEADLINES.quick);
    assert.equal(deadlineOf({ type: 'nope' } as never), DEFAULT_DEADLINES.quick, 'a type the worker refuses at once');
  });
});
