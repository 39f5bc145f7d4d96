import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { makeBatches } from '../../../../src/core/neural/batches';
import type { LmBatch } from '../../../../src/core/neural/batches';
import {
  configOf,
  disposeParams,
  disposeState,
  flattenParams,
  forward,
  initLstmParams,
  loss,
  lossAndState,
  TIED_PROJECTION,
  unflattenParams,
  unflattenTrainable,
  untieParams,
} from '../../../../src/core/neural/lstm';
import type { LstmConfig, LstmParams, ParamMap } from '../../../../src/core/neural/lstm';
import { SeededRandom } from '../../../../src/core/neural/random';

const tiny: LstmConfig = { vocabSize: 7, embeddingSize: 4, hiddenSize: 5, layers: 2 };

/** Parameters with entries of order 0.5 everywhere, so every gradient is well above float32 noise. */
function lively(config: LstmConfig, seed: number): LstmParams {
  const random = new SeededRandom(seed);
  const base = flattenParams(initLstmParams(config, seed));
  const map: ParamMap = {};
  for (const [name, tensor] of Object.entries(base)) {
    map[name] = tf.tensor(random.uniformArray(tensor.size, 0.6), tensor.shape);
    tensor.dispose();
  }
  return unflattenParams(map);
}

function tinyBatch(): LmBatch {
  return {
    batchSize: 2,
    timeSteps: 3,
    inputs: Int32Array.from([1, 2, 3, 4, 5, 6]),
    targets: Int32Array.from([2, 3, 4, 5, 6, 0]),
    // The last position is padding: it must not count.
    mask: Float32Array.from([1, 1, 1, 1, 1, 0]),
  };
}

function scalarOf(t: Tensor): number {
  const value = t.dataSync()[0];
  t.dispose();
  return value;
}

/**
 * Compares the analytic gradient with central differences at several random
 * entries of every parameter tensor; returns the failures.
 */
function gradientCheck(params: LstmParams, batch: LmBatch): string[] {
  return mapGradientCheck(flattenParams(params), batch, unflattenParams);
}

/** {@link gradientCheck} over a parameter map read by `unflatten` (plain or tied). */
function mapGradientCheck(flat: ParamMap, batch: LmBatch, unflatten: (map: ParamMap) => LstmParams): string[] {
  const names = Object.keys(flat);
  const grads = tf.grads((...xs: Tensor[]) => {
    const map: ParamMap = {};
    names.forEach((name, i) => (map[name] = xs[i]));
    return loss(unflatten(map), batch);
  })(names.map((name) => flat[name]));
  const random = new SeededRandom(5);
  const epsilon = 1e-2;
  const failures: string[] = [];
  names.forEach((name, i) => {
    const analytic = grads[i].dataSync();
    const base = flat[name].dataSync();
    for (let sample = 0; sample < 4; sample++) {
      const index = random.nextInt(base.length);
      const lossWith = (delta: number): number => {
        const values = Float32Array.from(base);
        values[index] += delta;
        const perturbed = tf.tensor(values, flat[name].shape);
        const value = scalarOf(tf.tidy(() => loss(unflatten({ ...flat, [name]: perturbed }), batch)));
        perturbed.dispose();
        return value;
      };
      const numeric = (lossWith(epsilon) - lossWith(-epsilon)) / (2 * epsilon);
      // Absolute floor: float32 loss noise (~1e-7) over 2ε, plus O(ε²) truncation.
      const tolerance = 2e-4 + 1e-2 * Math.abs(numeric);
      if (Math.abs(analytic[index] - numeric) > tolerance) {
        failures.push(`${name}[${index}]: analytic ${analytic[index]}, numeric ${numeric}`);
      }
    }
  });
  tf.dispose(grads);
  return failures;
}

describe('LSTM language model', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  after(async () => {
    await tf.setBackend('wasm');
  });

  describe('gradients', () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      it(`match central finite differences in every parameter tensor (${backend})`, async () => {
        await tf.setBackend(backend);
        const params = lively(tiny, 3);
        try {
          const failures = gradientCheck(params, tinyBatch());
          assert.deepEqual(failures, []);
        } finally {
          disposeParams(params);
        }
      });
    }

    it('match central finite differences with the softmax tied to the embedding, which gets both paths', () => {
      const plain = flattenParams(lively(tiny, 4));
      const { 'output.kernel': kernel, ...rest } = plain;
      kernel.dispose();
      const tied: ParamMap = { ...rest, [TIED_PROJECTION]: tf.tensor2d(new SeededRandom(9).uniformArray(5 * 4, 0.6), [5, 4]) };
      try {
        assert.deepEqual(mapGradientCheck(tied, tinyBatch(), unflattenTrainable), []);
        // Folding the tie back gives plain parameters with the same loss.
        const tiedLoss = scalarOf(tf.tidy(() => loss(unflattenTrainable(tied), tinyBatch())));
        const copy: ParamMap = {};
        for (const [name, tensor] of Object.entries(tied)) copy[name] = tensor.clone();
        const folded = untieParams(copy);
        assert.equal(folded[TIED_PROJECTION], undefined);
        assert.deepEqual(folded['output.kernel'].shape, [5, 7]);
        assert.ok(Math.abs(scalarOf(loss(unflattenParams(folded), tinyBatch())) - tiedLoss) < 1e-5);
        tf.dispose(Object.values(folded));
      } finally {
        tf.dispose(Object.values(tied));
      }
    });

    it('leave padding positions out of the gradient (output bias against its closed form)', async () => {
      await tf.setBackend('wasm');
      const params = lively(tiny, 4);
      const batch = tinyBatch();
      const outputBias = tf.grad((bias: Tensor) =>
        loss({ ...params, outputBias: bias as typeof params.outputBias }, batch),
      )(params.outputBias);
      const byClass = Array.from(outputBias.dataSync());
      outputBias.dispose();
      // Every class gets + Σ p over real positions; real targets also − 1/5 each.
      const probabilities = tf.tidy(() => tf.softmax(forward(params, batch).logits).arraySync() as number[][][]);
      const expected = new Array<number>(tiny.vocabSize).fill(0);
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < 3; t++) {
          if (batch.mask[b * 3 + t] === 0) continue;
          probabilities[b][t].forEach((p, c) => (expected[c] += p / 5));
          expected[batch.targets[b * 3 + t]] -= 1 / 5;
        }
      }
      byClass.forEach((value, c) => assert.ok(Math.abs(value - expected[c]) < 1e-5, `class ${c}: ${value} vs ${expected[c]}`));
      disposeParams(params);
    });
  });

  describe('forward and loss', () => {
    it('loss is the mean −log softmax(logits)[target] over real positions', () => {
      const params = lively(tiny, 6);
      const batch = tinyBatch();
      const logits = forward(params, batch);
      assert.deepEqual(logits.logits.shape, [2, 3, tiny.vocabSize]);
      const rows = logits.logits.arraySync();
      tf.dispose(logits);
      let sum = 0;
      let count = 0;
      rows.forEach((row, b) =>
        row.forEach((z, t) => {
          if (batch.mask[b * 3 + t] === 0) return;
          const max = Math.max(...z);
          const logSumExp = max + Math.log(z.reduce((acc, v) => acc + Math.exp(v - max), 0));
          sum += logSumExp - z[batch.targets[b * 3 + t]];
          count++;
        }),
      );
      assert.ok(Math.abs(scalarOf(loss(params, batch)) - sum / count) < 1e-5);
      disposeParams(params);
    });

    it('stays finite and exact when logits are extreme', () => {
      const params = lively(tiny, 6);
      const scaled = { ...params, outputKernel: tf.mul(params.outputKernel, 300) as typeof params.outputKernel };
      const value = scalarOf(loss(scaled, tinyBatch()));
      assert.ok(Number.isFinite(value) && value > 0, `loss ${value}`);
      scaled.outputKernel.dispose();
      disposeParams(params);
    });

    it('carrying the state across segments equals running the whole sequence at once', () => {
      const params = lively(tiny, 8);
      const ids = [1, 4, 2, 6, 3, 3, 5, 0, 2];
      const [whole] = makeBatches(ids, { batchSize: 1, timeSteps: 8 });
      const halves = makeBatches(ids, { batchSize: 1, timeSteps: 4 });
      assert.equal(halves.length, 2);
      const first = lossAndState(params, halves[0]);
      const second = lossAndState(params, halves[1], first.state);
      const secondLoss = scalarOf(second.loss);
      const chained = (scalarOf(first.loss) + secondLoss) / 2;
      assert.ok(Math.abs(chained - scalarOf(loss(params, whole))) < 1e-5);
      const fresh = scalarOf(loss(params, halves[1]));
      assert.ok(Math.abs(fresh - secondLoss) > 1e-4, 'the state matters');
      disposeState(first.state);
      disposeState(second.state);
      disposeParams(params);
    });

    it('an all-padding batch has loss 0', () => {
      const params = initLstmParams(tiny, 1);
      const batch = { ...tinyBatch(), mask: new Float32Array(6) };
      assert.equal(scalarOf(loss(params, batch)), 0);
      disposeParams(params);
    });

    it('leaks no tensors in forward, loss and lossAndState', () => {
      const params = initLstmParams(tiny, 1);
      const batch = tinyBatch();
      const before = tf.memory().numTensors;
      const out = forward(params, batch);
      tf.dispose(out.logits);
      disposeState(out.state);
      scalarOf(loss(params, batch));
      const withState = lossAndState(params, batch);
      const next = lossAndState(params, batch, withState.state);
      tf.dispose([withState.loss, next.loss]);
      disposeState(withState.state);
      disposeState(next.state);
      assert.equal(tf.memory().numTensors, before);
      disposeParams(params);
    });
  });

  describe('parameters', () => {
    it('are a named map that round-trips and is reproducible from the seed', () => {
      const a = initLstmParams(tiny, 42);
      const b = initLstmParams(tiny, 42);
      const flat = flattenParams(a);
      assert.deepEqual(Object.keys(flat), [
        'embedding',
        'layer0.kernel',
        'layer0.recurrent',
        'layer0.bias',
        'layer1.kernel',
        'layer1.recurrent',
        'layer1.bias',
        'output.kernel',
        'output.bias',
      ]);
      assert.deepEqual(flat['layer1.kernel'].shape, [5, 20]);
      assert.deepEqual(configOf(unflattenParams(flat)), tiny);
      for (const [name, tensor] of Object.entries(flattenParams(b))) {
        assert.deepEqual(Array.from(tensor.dataSync()), Array.from(flat[name].dataSync()), name);
      }
      // Forget-gate bias starts at 1, the other gates at 0.
      assert.deepEqual(Array.from(a.layers[0].bias.dataSync()).slice(0, 11), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
      disposeParams(a);
      disposeParams(b);
    });
  });
});
