import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { dense, flushTiny, matMul, sliceRows, softmaxCrossEntropy } from '../../../../src/core/neural/ops';
import { SeededRandom } from '../../../../src/core/neural/random';

const SMALLEST_NORMAL_FLOAT32 = 1.1754943508222875e-38;

function isDenormal(value: number): boolean {
  return value !== 0 && Math.abs(value) < SMALLEST_NORMAL_FLOAT32;
}

function matrix(random: SeededRandom, rows: number, cols: number, scale = 1): Tensor2D {
  return tf.tensor2d(random.uniformArray(rows * cols, scale), [rows, cols]);
}

/** Row-major product in float64, the reference for the hand-written gradients. */
function referenceProduct(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((sum, v, k) => sum + v * b[k][j], 0)));
}

function transpose(m: number[][]): number[][] {
  return m[0].map((_, j) => m.map((row) => row[j]));
}

function assertClose(actual: number[][], expected: number[][], tolerance: number, label: string): void {
  expected.forEach((row, i) =>
    row.forEach((value, j) =>
      assert.ok(Math.abs(actual[i][j] - value) <= tolerance, `${label}[${i}][${j}]: ${actual[i][j]} vs ${value}`),
    ),
  );
}

describe('neural ops', () => {
  const random = new SeededRandom(21);

  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('matMul and dense give the textbook gradients', () => {
    const a = matrix(random, 4, 3);
    const b = matrix(random, 3, 5);
    const bias = tf.tensor1d(random.uniformArray(5, 1));
    const dy = matrix(random, 4, 5);
    const [da, db] = tf.grads((x: Tensor, y: Tensor) => matMul(x as Tensor2D, y as Tensor2D))([a, b], dy);
    const [dx, dKernel, dBias] = tf.grads((x: Tensor, k: Tensor, c: Tensor) =>
      dense(x as Tensor2D, k as Tensor2D, c as Tensor1D),
    )([a, b, bias], dy);
    const [aValues, bValues, dyValues] = [a, b, dy].map((t) => t.arraySync() as number[][]);
    assertClose(da.arraySync() as number[][], referenceProduct(dyValues, transpose(bValues)), 1e-5, 'da');
    assertClose(db.arraySync() as number[][], referenceProduct(transpose(aValues), dyValues), 1e-5, 'db');
    assertClose(dx.arraySync() as number[][], referenceProduct(dyValues, transpose(bValues)), 1e-5, 'dense dx');
    assertClose(dKernel.arraySync() as number[][], referenceProduct(transpose(aValues), dyValues), 1e-5, 'dense dKernel');
    const columnSums = dyValues[0].map((_, j) => dyValues.reduce((sum, row) => sum + row[j], 0));
    assertClose([Array.from(dBias.dataSync())], [columnSums], 1e-5, 'dense dBias');
    const value = dense(a, b, bias).arraySync();
    const expected = referenceProduct(aValues, bValues).map((row) => row.map((v, j) => v + bias.dataSync()[j]));
    assertClose(value, expected, 1e-5, 'dense value');
    tf.dispose([a, b, bias, dy, da, db, dx, dKernel, dBias]);
  });

  it('sliceRows passes the gradient back to the sliced rows only', () => {
    const x = matrix(random, 5, 2);
    const dx = tf.grad((input: Tensor) => sliceRows(input as Tensor2D, 1, 2))(x, tf.ones([2, 2]));
    assert.deepEqual(Array.from(dx.dataSync()), [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
    tf.dispose([x, dx]);
  });

  it('flushTiny zeroes denormal-range values and keeps the rest exactly', () => {
    const values = [1e-39, -3e-40, 1e-25, -1e-25, 1e-20, -0.5, 0, 3];
    const flushed = flushTiny(tf.tensor1d(values));
    // `+ 0` turns the -0 of a flushed negative into 0.
    assert.deepEqual(Array.from(flushed.dataSync(), (v) => v + 0), [0, 0, 0, 0, Math.fround(1e-20), -0.5, 0, 3]);
    flushed.dispose();
  });

  it('softmaxCrossEntropy is exact and its gradient is free of denormals even for extreme logits', () => {
    const rows = 6;
    const classes = 50;
    // Gaps from the top logit of 0 to 110 nats: exp(−gap) is denormal for gaps
    // between ~87 and ~103, so an unflushed softmax gradient contains denormals.
    const gaps = Array.from({ length: rows * classes }, (_, i) => ((i % classes) * 2.25 + (i % 7) * 0.1) % 110);
    const logits = tf.tensor2d(gaps.map((gap) => 30 - gap), [rows, classes]);
    const targets = tf.tensor1d([3, 7, 7, 0, 49, 12], 'int32');
    const weights = tf.tensor1d([0.25, 0.25, 0, 0.25, 0.25, 0]);
    const value = softmaxCrossEntropy(logits, targets, weights).dataSync()[0];
    const gradient = tf.grad((z: Tensor) => softmaxCrossEntropy(z as Tensor2D, targets, weights))(logits);
    const z = logits.arraySync();
    const t = targets.arraySync();
    const w = weights.arraySync();
    let expected = 0;
    z.forEach((row, n) => {
      const max = Math.max(...row);
      const logSumExp = max + Math.log(row.reduce((sum, v) => sum + Math.exp(v - max), 0));
      expected += w[n] * (logSumExp - row[t[n]]);
      const p = row.map((v) => Math.exp(v - logSumExp));
      const g = (gradient.arraySync() as number[][])[n];
      g.forEach((gv, c) => {
        assert.ok(!isDenormal(gv), `gradient[${n}][${c}] = ${gv} is denormal`);
        const reference = w[n] * (p[c] - (c === t[n] ? 1 : 0));
        assert.ok(Math.abs(gv - reference) < 1e-6, `gradient[${n}][${c}]: ${gv} vs ${reference}`);
      });
    });
    assert.ok(Math.abs(value - expected) <= 1e-4 * Math.abs(expected), `${value} vs ${expected}`);
    tf.dispose([logits, targets, weights, gradient]);
  });

  it('the softmaxCrossEntropy gradient adds one logits-sized tensor to the softmax, not a one-hot and its products', () => {
    // The wasm heap keeps the size of a training step's busiest moment for good, so this is the worker's memory.
    const rows = 512;
    const classes = 2000;
    const random = new SeededRandom(5);
    const logits = matrix(random, rows, classes, 3);
    const targets = tf.tensor1d(Array.from({ length: rows }, (_, n) => (n * 37) % classes), 'int32');
    const weights = tf.fill([rows], 1 / rows) as Tensor1D;
    const logitsBytes = rows * classes * 4;
    let gradient: Tensor | undefined;
    const profile = tf.profile(() => {
      gradient = tf.grad((z: Tensor) => softmaxCrossEntropy(z as Tensor2D, targets, weights))(logits);
    });
    return profile.then((info) => {
      // The profiler counts reshapes and identities, which share their input's data, as new bytes: it reports 4
      // logits-sized tensors here (softmax and residual the real ones), where the one-hot composition reports 8.
      assert.ok(info.peakBytes <= 4.5 * logitsBytes, `peak ${info.peakBytes} bytes for logits of ${logitsBytes}`);
      // And it is still the gradient: each row sums to 0 (softmax − one-hot, scaled).
      const g = (gradient as Tensor2D).arraySync();
      for (const row of g.slice(0, 8)) assert.ok(Math.abs(row.reduce((sum, v) => sum + v, 0)) < 1e-6);
      tf.dispose([logits, targets, weights, gradient as Tensor]);
    });
  });
});
