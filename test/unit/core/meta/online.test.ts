import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { makeBatches } from '../../../../src/core/neural/batches';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { sgdUpdate } from '../../../../src/core/meta/innerLoop';
import { DynamicEvaluator, estimateMeanSquares } from '../../../../src/core/meta/online';
import { disposeMap, lossAndGrads, meanLoss, readParams } from '../../../../src/core/meta/paramMaps';
import type { BatchStream } from '../../../../src/core/meta/paramMaps';
import { tinyParams } from './helpers';

/** Classes 1..7 of the tiny vocabulary, each followed by itself + shift (mod 7). */
function shiftFile(shift: number, start: number, length: number): number[] {
  const ids: number[] = [];
  let current = start;
  for (let i = 0; i < length; i++) {
    ids.push(1 + current);
    current = (current + shift) % 7;
  }
  return ids;
}

/** The tiny LM trained by full-batch SGD on shift-1 files: it has never seen shift 3. */
function trainedOnShiftOne(): { params: ParamMap; training: BatchStream[] } {
  const training = [0, 2, 4].map((start) => makeBatches(shiftFile(1, start, 33), { batchSize: 2, timeSteps: 8 }));
  let params = tinyParams(11);
  for (let step = 0; step < 150; step++) {
    const { grads } = lossAndGrads(params, training);
    const next = sgdUpdate(params, grads, 1);
    disposeMap(grads);
    disposeMap(params);
    params = next;
  }
  return { params, training };
}

function segments(ids: number[], size: number): number[][] {
  const result: number[][] = [];
  for (let i = 0; i < ids.length; i += size) result.push(ids.slice(i, i + size));
  return result;
}

describe('DynamicEvaluator', () => {
  let theta: ParamMap;
  let training: BatchStream[];

  before(async () => {
    await initBackend({ force: 'wasm' });
    ({ params: theta, training } = trainedOnShiftOne());
  });

  after(() => disposeMap(theta));

  it('on a file whose rule differs from training, later segments cost less after observing earlier ones', () => {
    const file = shiftFile(3, 5, 64);
    const [earlier, later] = [file.slice(0, 32), file.slice(31)];
    const laterStream = [makeBatches(later, { batchSize: 1, timeSteps: later.length - 1 })];
    const unadapted = meanLoss(theta, laterStream).loss;
    const evaluator = new DynamicEvaluator(theta, { lr: 0.05, decay: 0.01 });
    const scores = segments(earlier, 8).map((segment) => evaluator.observe(segment));
    const adapted = meanLoss(evaluator.currentParams(), laterStream).loss;
    assert.ok(adapted < unadapted - 1, `later query loss: adapted ${adapted}, without adaptation ${unadapted}`);
    // The scores are taken before each step: the first segment is scored by θ₀.
    assert.equal(scores[0].tokens, 7);
    assert.equal(scores[1].tokens, 8);
    for (const score of scores.slice(1)) assert.ok(score.loss < scores[0].loss - 0.3, `segment losses ${scores.map((s) => s.loss)}`);
    evaluator.dispose();
  });

  it('with fixed mean squares estimated on the training data, it adapts as well', () => {
    const meanSquares = estimateMeanSquares(theta, training);
    const file = shiftFile(3, 1, 64);
    const later = file.slice(31);
    const laterStream = [makeBatches(later, { batchSize: 1, timeSteps: later.length - 1 })];
    const evaluator = new DynamicEvaluator(theta, { lr: 0.01, decay: 0.01, meanSquares, epsilon: 1e-4 });
    segments(file.slice(0, 32), 8).forEach((segment) => evaluator.observe(segment));
    const adapted = meanLoss(evaluator.currentParams(), laterStream).loss;
    const unadapted = meanLoss(theta, laterStream).loss;
    assert.ok(adapted < unadapted - 1, `later query loss: adapted ${adapted}, without adaptation ${unadapted}`);
    evaluator.dispose();
    disposeMap(meanSquares);
  });

  it('decay λ = 1 returns exactly to θ₀ after every step, and reset returns to θ₀ too', () => {
    const expected = readParams(theta);
    const undo = new DynamicEvaluator(theta, { lr: 0.1, decay: 1 });
    undo.observe([1, 4, 7, 3, 6]);
    undo.observe([2, 5, 1]);
    const afterUndo = readParams(undo.currentParams());
    for (const name of Object.keys(expected)) assert.deepEqual(afterUndo[name], expected[name], name);
    undo.dispose();

    const keep = new DynamicEvaluator(theta, { lr: 0.1, decay: 0 });
    keep.observe([1, 4, 7, 3, 6]);
    const moved = readParams(keep.currentParams());
    // With the online MS seeded by the first g², each element moves by at most η.
    let largest = 0;
    for (const name of Object.keys(expected)) {
      for (let i = 0; i < expected[name].length; i++) largest = Math.max(largest, Math.abs(moved[name][i] - expected[name][i]));
    }
    assert.ok(largest > 0.05 && largest <= 0.1 + 1e-6, `largest move ${largest}`);
    keep.reset();
    const afterReset = readParams(keep.currentParams());
    for (const name of Object.keys(expected)) assert.deepEqual(afterReset[name], expected[name], name);
    keep.dispose();
    assert.throws(() => keep.currentParams(), /disposed/);
  });

  it('leaks no tensors while observing, resetting and disposing', () => {
    const before = tf.memory().numTensors;
    const meanSquares = estimateMeanSquares(theta, training);
    const evaluator = new DynamicEvaluator(theta, { lr: 0.01, decay: 0.1 });
    const withSquares = new DynamicEvaluator(theta, { lr: 0.01, decay: 0.1, meanSquares });
    disposeMap(meanSquares);
    const held = tf.memory().numTensors;
    evaluator.observe([3]);
    evaluator.observe([4, 5, 6]);
    evaluator.observe([]);
    evaluator.observe([7, 1, 2, 3]);
    withSquares.observe([1, 2, 3, 4]);
    evaluator.reset();
    evaluator.observe([5, 6]);
    evaluator.reset();
    withSquares.reset();
    assert.equal(tf.memory().numTensors, held, 'steady after reset');
    evaluator.dispose();
    withSquares.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
