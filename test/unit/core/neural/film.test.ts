import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import type { LmBatch } from '../../../../src/core/neural/batches';
import { adapterSize, forwardWithFilm, lossWithFilm } from '../../../../src/core/neural/film';
import { disposeParams, forward, initLstmParams, loss } from '../../../../src/core/neural/lstm';
import type { LstmParams } from '../../../../src/core/neural/lstm';
import { SeededRandom } from '../../../../src/core/neural/random';

const config = { vocabSize: 7, embeddingSize: 4, hiddenSize: 5, layers: 2 };

function batch(): LmBatch {
  return {
    batchSize: 2,
    timeSteps: 3,
    inputs: Int32Array.from([1, 2, 3, 4, 5, 6]),
    targets: Int32Array.from([2, 3, 4, 5, 6, 1]),
    mask: Float32Array.from([1, 1, 1, 1, 1, 0]),
  };
}

function adapterLoss(params: LstmParams, adapter: Tensor2D): number {
  return tf.tidy(() => lossWithFilm(params, adapter, batch()).loss.dataSync()[0]);
}

describe('FiLM adapters on the LSTM', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('an all-zero adapter is the un-adapted model', () => {
    const params = initLstmParams(config, 3);
    const zeros = tf.zeros([1, adapterSize(params)]) as Tensor2D;
    const plain = forward(params, batch());
    const adapted = forwardWithFilm(params, zeros, batch());
    const [a, b] = [plain.logits.dataSync(), adapted.logits.dataSync()];
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-6);
    const reference = loss(params, batch());
    assert.ok(Math.abs(adapterLoss(params, zeros) - reference.dataSync()[0]) < 1e-6);
    tf.dispose([zeros, plain.logits, adapted.logits, reference, ...plain.state.h, ...plain.state.c]);
    tf.dispose([...adapted.state.h, ...adapted.state.c]);
    disposeParams(params);
  });

  it('the adapter gradient matches central finite differences at both sites', () => {
    const params = initLstmParams(config, 4);
    const size = adapterSize(params);
    const random = new SeededRandom(6);
    const adapter = tf.tensor2d(random.uniformArray(size, 0.5), [1, size]);
    const gradient = tf.tidy(() =>
      tf.grads((...xs: Tensor[]) => lossWithFilm(params, xs[0] as Tensor2D, batch()).loss)([adapter])[0].dataSync(),
    );
    const epsilon = 1e-2;
    const values = adapter.dataSync();
    for (let i = 0; i < size; i++) {
      const shifted = (sign: number): number => {
        const moved = Float32Array.from(values);
        moved[i] += sign * epsilon;
        const row = tf.tensor2d(moved, [1, size]);
        const value = adapterLoss(params, row);
        row.dispose();
        return value;
      };
      const numeric = (shifted(1) - shifted(-1)) / (2 * epsilon);
      assert.ok(Math.abs(gradient[i] - numeric) <= 0.02 * Math.abs(numeric) + 2e-4, `[${i}]: ${gradient[i]} vs ${numeric}`);
    }
    adapter.dispose();
    disposeParams(params);
  });

  it('rejects an adapter of the wrong width', () => {
    const params = initLstmParams(config, 5);
    const wrong = tf.zeros([1, 3]) as Tensor2D;
    assert.throws(() => lossWithFilm(params, wrong, batch()), /does not fit the model/);
    wrong.dispose();
    disposeParams(params);
  });
});
