import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../../src/core/backend/backend';
import { disposeTrainedModel } from '../../../src/core/experiment/model';
import { loadModelCheckpoint } from '../../../src/core/persist/modelCheckpoint';
import type { TrainingOverrides } from '../../../src/protocol/engineProtocol';
import type { TrainingEvent } from '../../../src/protocol/trainingEvents';
import { EngineClient } from '../../../src/worker/engineClient';
import { TrainingService } from '../../../src/worker/training';

// The bundled worker, as the extension starts it (`npm test` builds dist/ first).
const workerScript = join(__dirname, '..', '..', '..', '..', 'dist', 'worker.js');
const encode = (text: string) => new TextEncoder().encode(text);

/** Sixteen small files in two families, enough tasks for a held-out split. */
function sourceFiles(): { path: string; bytes: Uint8Array }[] {
  return Array.from({ length: 16 }, (_, i) => {
    const name = i % 2 === 0 ? `queue${i}` : `stack${i}`;
    const body = i % 2 === 0
      ? `export function ${name}(items: number[]) {\n  const out = [];\n  for (const item of items) out.push(item * ${i});\n  return out;\n}\n`
      : `export class ${name} {\n  private values: string[] = [];\n  push(value: string) { this.values.push(value); }\n  pop() { return this.values.pop(); }\n}\n`;
    return { path: `src/${name}.ts`, bytes: encode(body.repeat(3)) };
  });
}

/** Tiny sizes: the test is about control, not accuracy. */
const tiny: TrainingOverrides = { vocabSize: 40, embeddingSize: 8, hiddenSize: 8, pretrainEpochs: 1, outerSteps: 400, innerSteps: 1 };

function eventsUntil(client: EngineClient, done: (event: TrainingEvent) => boolean, events: TrainingEvent[]): Promise<TrainingEvent> {
  return new Promise((resolve) => {
    client.onEvent = (event) => {
      events.push(event);
      if (done(event)) resolve(event);
    };
  });
}

describe('training in the engine worker', function () {
  this.timeout(120_000);
  let client: EngineClient;
  let dir: string;
  before(async () => {
    await initBackend({ force: 'wasm' });
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metacomplete-training-'));
    client = new EngineClient(workerScript);
    await client.request({ type: 'files/update', files: sourceFiles() });
  });
  afterEach(async () => {
    await client.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pauses, serves completions while paused, resumes and cancels without writing a model', async () => {
    const modelPath = join(dir, 'model.mcmodel');
    const events: TrainingEvent[] = [];
    const stepping = eventsUntil(client, (event) => event.type === 'outer-step' && event.step >= 2, events);
    const started = await client.request({ type: 'training/start', learner: 'reptile', modelPath, overrides: tiny });
    assert.equal(started.state, 'running');
    await assert.rejects(client.request({ type: 'training/start', learner: 'reptile', modelPath, overrides: tiny }), /already running/);
    await stepping;

    assert.equal((await client.request({ type: 'training/pause' })).state, 'paused');
    const stepsAtPause = events.filter((event) => event.type === 'outer-step').length;
    // The worker answers completions while training is paused...
    const completion = await client.request({ type: 'completion/complete', path: 'src/new.ts', textBefore: 'export class st', k: 3 });
    assert.ok(completion.suggestions.some((suggestion) => suggestion.token.startsWith('stack')));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // ...and takes at most the step it was in the middle of.
    assert.ok(events.filter((event) => event.type === 'outer-step').length <= stepsAtPause + 1);

    const moreSteps = eventsUntil(client, (event) => event.type === 'outer-step' && event.step >= stepsAtPause + 3, events);
    assert.equal((await client.request({ type: 'training/resume' })).state, 'running');
    await moreSteps;

    const cancelled = eventsUntil(client, (event) => event.type === 'training-state' && (event.phase === 'cancelled' || event.phase === 'error'), events);
    await client.request({ type: 'training/cancel' });
    const last = await cancelled;
    assert.equal(last.type === 'training-state' && last.phase, 'cancelled');
    const outerSteps = events.filter((event) => event.type === 'outer-step').length;
    assert.ok(outerSteps < 400, `cancel stopped the run early (${outerSteps} steps)`);
    assert.equal(existsSync(modelPath), false, 'a cancelled run writes no model');
    assert.equal((await client.request({ type: 'training/resume' })).state, 'idle');
  });

  it('trains to the end, writes a loadable checkpoint and adopts it', async () => {
    const modelPath = join(dir, 'model.mcmodel');
    const events: TrainingEvent[] = [];
    const finished = eventsUntil(client, (event) => event.type === 'training-state' && (event.phase === 'done' || event.phase === 'error'), events);
    await client.request({ type: 'training/start', learner: 'meta-sgd', modelPath, overrides: { ...tiny, outerSteps: 3 } });
    const last = await finished;
    assert.equal(last.type === 'training-state' && last.phase, 'done', JSON.stringify(last));
    assert.deepEqual(
      events.filter((event) => event.type === 'outer-step').map((event) => (event.type === 'outer-step' ? event.step : 0)),
      [1, 2, 3],
    );
    assert.ok(events.some((event) => event.type === 'pretrain-epoch'));
    const model = await loadModelCheckpoint(modelPath);
    try {
      assert.equal(model.learner, 'meta-sgd');
      assert.ok(model.lrs !== undefined && model.meanSquares !== undefined && model.gate !== undefined);
    } finally {
      disposeTrainedModel(model);
    }
    // Completions now come from the mixture; adapting to a file lowers its loss.
    const text = 'export class stack3 {\n  private values: string[] = [];\n  push(value: string) { this.values.';
    const completion = await client.request({ type: 'completion/complete', path: 'src/stack99.ts', textBefore: text, k: 5 });
    assert.ok(completion.suggestions.length > 0);
    const total = completion.suggestions.reduce((sum, suggestion) => sum + suggestion.probability, 0);
    assert.ok(total > 0 && total <= 1 + 1e-6);
    const adapted = await client.request({ type: 'model/adapt', path: 'src/stack99.ts', text });
    assert.equal(adapted.learner, 'meta-sgd');
    assert.ok(adapted.lossAfter < adapted.lossBefore, `adapting lowered the loss: ${adapted.lossBefore} → ${adapted.lossAfter}`);
    const after = await client.request({ type: 'completion/complete', path: 'src/stack99.ts', textBefore: text, k: 5 });
    assert.ok(after.suggestions.length > 0);
    const stats = await client.request({ type: 'engine/stats' });
    assert.equal(stats.model?.learner, 'meta-sgd');
    assert.equal(stats.model?.failure, undefined, 'the neural side never failed');
  });

  it('says clearly that adapting needs a trained model', async () => {
    await assert.rejects(client.request({ type: 'model/adapt', path: 'src/a.ts', text: 'const a = 1;' }), /No trained model yet/);
  });
});

describe('a training thread that does not answer Cancel', () => {
  it('is stopped at the cancel deadline and the run reported cancelled, so nothing waits on it for ever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metacomplete-stuck-'));
    // A thread in one long synchronous step: it reports a step, then never reads its messages again.
    const script = join(dir, 'stuckThread.js');
    writeFileSync(
      script,
      "const { parentPort } = require('node:worker_threads');\n" +
        "parentPort.postMessage({ kind: 'event', event: { type: 'outer-step', learner: 'reptile', step: 1, totalSteps: 9, metaLoss: 1, tasks: [] } });\n" +
        'setTimeout(() => { for (;;); }, 50);\n',
    );
    const events: TrainingEvent[] = [];
    const ended = new Promise<TrainingEvent>((resolve) => {
      const service = new TrainingService(
        () => [1, 2].map((i) => ({ relPath: `f${i}.ts`, split: 'train' as const, tokens: ['a', 'b'] })),
        (event) => {
          events.push(event);
          if (event.type === 'outer-step') service.cancel();
          if (event.type === 'training-state' && ['cancelled', 'error', 'done'].includes(event.phase)) resolve(event);
        },
        () => Promise.reject(new Error('a cancelled run adopts no model')),
        join(dir, 'wasm'),
        script,
        300,
      );
      service.start({ type: 'training/start', learner: 'reptile', modelPath: join(dir, 'model.mcmodel'), overrides: {} });
    });
    try {
      const last = await ended;
      assert.equal(last.type === 'training-state' && last.phase, 'cancelled');
      assert.equal(last.type === 'training-state' && last.step, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
