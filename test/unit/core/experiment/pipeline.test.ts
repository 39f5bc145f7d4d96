import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { DEFAULT_FEWSHOT_OPTIONS, GATE_NGRAM_TOKEN_BUDGET, GATE_TOKEN_BUDGET, gateFilesOf, gateKnownFilesOf } from '../../../../src/core/experiment/fewshot';
import { disposeTrainedModel } from '../../../../src/core/experiment/model';
import { holdOut, trainModel } from '../../../../src/core/experiment/pipeline';
import type { TrainModelOptions } from '../../../../src/core/experiment/pipeline';
import { DEFAULT_TRAIN_SETTINGS } from '../../../../src/core/experiment/train';
import type { TrainingEvent } from '../../../../src/core/experiment/events';
import { tokenize } from '../../../../src/core/text/lexer';
import type { CorpusFile } from '../../../../src/core/text/corpus';

/** Sixteen small files: two of them held out, so the run fits a gate. */
function corpus(): CorpusFile[] {
  return Array.from({ length: 16 }, (_, i) => {
    const body = `export function step${i}(items: number[]) {\n  const out = [];\n  for (const item of items) out.push(item * ${i});\n  return out;\n}\n`;
    return { relPath: `src/step${String(i).padStart(2, '0')}.ts`, split: 'train', tokens: tokenize(body.repeat(3), 'js') };
  });
}

const options: TrainModelOptions = {
  ...DEFAULT_FEWSHOT_OPTIONS,
  settings: { ...DEFAULT_TRAIN_SETTINGS, vocabSize: 40, embeddingSize: 8, hiddenSize: 8, pretrainEpochs: 1, outerSteps: 2, innerSteps: 1, maxSupportTokens: 30, maxQueryTokens: 40 },
  learner: 'reptile',
  innerRates: [1],
  adapterRates: [0.3],
  dynamicRates: [1e-3],
};

describe('training pipeline', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('ends as cancelled, with no model and no gate fitted, when Cancel comes while the gate is fitted', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    const before = tf.memory().numTensors;
    const onEvent = (event: TrainingEvent): void => {
      if (event.type === 'training-state' && event.phase === 'fitting-gate') abort.abort();
    };
    const result = await trainModel(corpus(), { ...options, log: (line) => lines.push(line) }, onEvent, { signal: abort.signal });
    if (result.model !== undefined) disposeTrainedModel(result.model);
    assert.ok(abort.signal.aborted, 'the run reached the gate phase');
    assert.equal(result.cancelled, true);
    assert.equal(result.model, undefined);
    assert.ok(!lines.some((line) => line.startsWith('gate fitted')), lines.join('\n'));
    assert.equal(tf.memory().numTensors, before, 'a cancelled run leaves no tensor behind');
  });

  it('waits while paused in the gate phase and finishes with a gate once resumed', async () => {
    let paused = false;
    let resume: (() => void) | undefined;
    const phases: string[] = [];
    const onEvent = (event: TrainingEvent): void => {
      if (event.type !== 'training-state') return;
      phases.push(event.phase);
      if (event.phase === 'fitting-gate') paused = true;
    };
    const whilePaused = (): Promise<void> => (paused ? new Promise<void>((resolve) => (resume = resolve)) : Promise.resolve());
    let finished = false;
    const run = trainModel(corpus(), options, onEvent, { whilePaused }).then((result) => {
      finished = true;
      return result;
    });
    while (resume === undefined && !finished) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(finished, false, 'the run went on while paused in the gate phase');
    paused = false;
    resume?.();
    const result = await run;
    assert.ok(result.model !== undefined);
    try {
      assert.ok(result.model.gate !== undefined && result.model.gate.weights.every(Number.isFinite));
    } finally {
      disposeTrainedModel(result.model);
    }
  });
});

describe('training pipeline on a workspace over the gate budget', function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it("fits the gate when a class's only file is outside the gate's n-gram, as the engine would complete with it", async () => {
    // 80 files of 1,800 tokens: more than the n-gram budget, so the gate's n-gram counts only some of them.
    const files: CorpusFile[] = Array.from({ length: 80 }, (_, i) => {
      const line = ['const', `v${i % 7}`, '=', 'call', '(', `a${i % 5}`, ',', String(i % 3), ')', ';'];
      return { relPath: `src/d${String(Math.floor(i / 10)).padStart(2, '0')}/f${String(i).padStart(2, '0')}.ts`, split: 'train', tokens: Array.from({ length: 1800 }, (_, t) => line[t % line.length]) };
    });
    const { kept, heldOut } = holdOut(files, options.heldOutEvery);
    const known = gateKnownFilesOf(files, gateFilesOf(heldOut, GATE_TOKEN_BUDGET, options.settings.seed), GATE_NGRAM_TOKEN_BUDGET);
    const outside = kept.find((file) => !known.includes(file));
    assert.ok(outside !== undefined, 'some training file is outside the n-gram');
    // A token frequent enough to be a class, in that file only.
    outside.tokens = outside.tokens.map((token, t) => (t % 2 === 0 ? 'onlyHere' : token));
    const result = await trainModel(files, { ...options, settings: { ...options.settings, pretrainEpochs: 0 } });
    assert.ok(result.model !== undefined);
    try {
      assert.ok(result.model.classTokens.includes('onlyHere'));
      assert.ok(result.model.gate !== undefined && result.model.gate.weights.every(Number.isFinite));
    } finally {
      disposeTrainedModel(result.model);
    }
  });
});
