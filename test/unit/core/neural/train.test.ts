import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { makeBatches } from '../../../../src/core/neural/batches';
import { disposeParams, disposeState, flattenParams, initLstmParams } from '../../../../src/core/neural/lstm';
import type { LstmConfig, LstmParams, LstmState } from '../../../../src/core/neural/lstm';
import { AdamOptimizer, evaluateLoss, SgdOptimizer, trainStep } from '../../../../src/core/neural/train';
import type { MapOptimizer } from '../../../../src/core/neural/train';

const config: LstmConfig = { vocabSize: 8, embeddingSize: 8, hiddenSize: 16, layers: 1 };

/** A short repetitive "program": 1 2 3 4 5 6 7 2 4 6 … with a period of 10. */
function repetitiveStream(length: number): number[] {
  const period = [1, 2, 3, 4, 5, 6, 7, 2, 4, 6];
  return Array.from({ length }, (_, i) => period[i % period.length]);
}

/** Trains over the batches in order for `epochs`, carrying state along the lanes. */
function train(params: LstmParams, optimizer: MapOptimizer | number, epochs: number, clipNorm?: number): LstmParams {
  const batches = makeBatches(repetitiveStream(401), { batchSize: 4, timeSteps: 10 });
  let current = params;
  for (let epoch = 0; epoch < epochs; epoch++) {
    let state: LstmState | undefined;
    for (const batch of batches) {
      const result = trainStep(current, batch, optimizer, { state, clipNorm });
      if (current !== params) disposeParams(current);
      disposeState(state);
      current = result.params;
      state = result.state;
    }
    disposeState(state);
  }
  return current;
}

describe('LSTM training', () => {
  const batches = makeBatches(repetitiveStream(401), { batchSize: 4, timeSteps: 10 });

  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('Adam drives the loss on a repetitive sequence far below its starting value', () => {
    const initial = initLstmParams(config, 1);
    const before = evaluateLoss(initial, batches);
    assert.equal(before.tokens, 400);
    const adam = new AdamOptimizer({ learningRate: 0.02 });
    const trained = train(initial, adam, 12);
    const after = evaluateLoss(trained, batches).loss;
    assert.ok(after < 0.25 * before.loss, `loss ${before.loss.toFixed(3)} -> ${after.toFixed(3)}`);
    adam.dispose();
    disposeParams(initial);
    disposeParams(trained);
  });

  it('a plain learning rate means SGD, and it lowers the loss too', () => {
    const initial = initLstmParams(config, 2);
    const before = evaluateLoss(initial, batches).loss;
    const trained = train(initial, 0.5, 3);
    const after = evaluateLoss(trained, batches).loss;
    assert.ok(after < before - 0.2, `loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    disposeParams(initial);
    disposeParams(trained);
  });

  it('clips the global gradient norm', () => {
    const initial = initLstmParams(config, 3);
    const result = trainStep(initial, batches[0], new SgdOptimizer(1), { clipNorm: 1e-3 });
    assert.ok(result.gradNorm > 1e-3);
    const moved = Object.entries(flattenParams(initial)).reduce((sum, [name, before]) => {
      const after = flattenParams(result.params)[name];
      return sum + tf.tidy(() => tf.sum(tf.square(tf.sub(after, before))).dataSync()[0]);
    }, 0);
    assert.ok(Math.abs(Math.sqrt(moved) - 1e-3) < 1e-4, `step length ${Math.sqrt(moved)}`);
    disposeParams(initial);
    disposeParams(result.params);
    disposeState(result.state);
  });

  it('leaks no tensors across training steps and evaluation', () => {
    let params = initLstmParams(config, 4);
    const adam = new AdamOptimizer({ learningRate: 0.01 });
    let state: LstmState | undefined;
    const step = (index: number): void => {
      const result = trainStep(params, batches[index], adam, { state });
      disposeParams(params);
      disposeState(state);
      params = result.params;
      state = result.state;
    };
    step(0); // creates Adam's moments
    const before = tf.memory().numTensors;
    step(1);
    step(2);
    evaluateLoss(params, batches.slice(0, 3));
    assert.equal(tf.memory().numTensors, before);
    adam.dispose();
    disposeParams(params);
    disposeState(state);
  });
});
