import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import type { DataType, Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { ADDED_WASM_KERNELS, REPLACED_WASM_KERNELS, registerWasmKernels } from '../../../../src/core/backend/kernels';
import { embeddingLookup } from '../../../../src/core/neural/ops';
import { SeededRandom } from '../../../../src/core/neural/random';

interface Result {
  shape: number[];
  dtype: DataType;
  values: number[];
}

/** Runs `compute` on the named backend and reads every output back. */
async function runOn(backend: 'wasm' | 'cpu', compute: () => Tensor | Tensor[]): Promise<Result[]> {
  assert.ok(await tf.setBackend(backend));
  return tf.tidy(() => {
    const out = compute();
    return (Array.isArray(out) ? out : [out]).map((t) => ({
      shape: t.shape,
      dtype: t.dtype,
      values: Array.from(t.dataSync() as ArrayLike<number>),
    }));
  });
}

async function assertSameOnWasmAndCpu(compute: () => Tensor | Tensor[], tolerance = 1e-5): Promise<Result[]> {
  const expected = await runOn('cpu', compute);
  const actual = await runOn('wasm', compute);
  assert.equal(actual.length, expected.length);
  actual.forEach((result, i) => {
    assert.deepEqual(result.shape, expected[i].shape);
    assert.equal(result.dtype, expected[i].dtype);
    result.values.forEach((value, k) => {
      assert.ok(
        Math.abs(value - expected[i].values[k]) <= tolerance * Math.max(1, Math.abs(expected[i].values[k])),
        `output ${i}[${k}]: wasm ${value}, cpu ${expected[i].values[k]}`,
      );
    });
  });
  return actual;
}

describe('wasm kernels', () => {
  const random = new SeededRandom(11);

  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  after(async () => {
    await tf.setBackend('wasm');
  });

  it('registers UnsortedSegmentSum, which the stock wasm backend lacks', () => {
    assert.deepEqual([...ADDED_WASM_KERNELS], ['UnsortedSegmentSum']);
    assert.ok(tf.getKernel('UnsortedSegmentSum', 'wasm'));
  });

  it('registers idempotently', () => {
    const before = REPLACED_WASM_KERNELS.map((name) => tf.getKernel(name, 'wasm').kernelFunc);
    registerWasmKernels();
    registerWasmKernels();
    assert.deepEqual(
      REPLACED_WASM_KERNELS.map((name) => tf.getKernel(name, 'wasm').kernelFunc),
      before,
    );
  });

  it('UnsortedSegmentSum matches cpu on random data, dropping out-of-range ids', async () => {
    for (const innerShape of [[], [3], [2, 5]]) {
      const rows = 37;
      const numSegments = 9;
      const inner = innerShape.reduce((a, b) => a * b, 1);
      const values = random.uniformArray(rows * inner, 2);
      // -1 and numSegments exercise the out-of-range rule.
      const ids = Int32Array.from({ length: rows }, () => random.nextInt(numSegments + 2) - 1);
      const [result] = await assertSameOnWasmAndCpu(() =>
        tf.unsortedSegmentSum(tf.tensor(values, [rows, ...innerShape]), tf.tensor1d(ids, 'int32'), numSegments),
      );
      assert.deepEqual(result.shape, [numSegments, ...innerShape]);
    }
  });

  it('UnsortedSegmentSum sums int32 values, and gives embedding lookups their gradient on wasm', async () => {
    // The cpu kernel returns float32 here; TensorFlow keeps the input dtype, as ours does.
    const [sums] = await runOn('wasm', () =>
      tf.unsortedSegmentSum(tf.tensor1d([5, 7, 11, 13], 'int32'), tf.tensor1d([2, 0, 2, 1], 'int32'), 3),
    );
    assert.deepEqual(sums, { shape: [3], dtype: 'int32', values: [7, 13, 16] });
    const tableValues = random.uniformArray(10, 1);
    const [gradient] = await assertSameOnWasmAndCpu(() => {
      const ids = tf.tensor1d([1, 0, 1, 3], 'int32');
      const dy = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
      return tf.grad((table: Tensor) => embeddingLookup(table as Tensor2D, ids))(tf.tensor2d(tableValues, [5, 2]), dy);
    });
    assert.deepEqual(gradient.values, [3, 4, 6, 8, 0, 0, 7, 8, 0, 0]);
  });

  it('Slice, SplitV and Unpack replacements match cpu for ranks 1-4 and every dtype', async () => {
    for (let trial = 0; trial < 40; trial++) {
      const rank = 1 + (trial % 4);
      const shape = Array.from({ length: rank }, () => 1 + random.nextInt(5));
      const begin = shape.map((dim) => random.nextInt(dim));
      const size = shape.map((dim, axis) => (random.next() < 0.3 ? -1 : random.nextInt(dim - begin[axis] + 1)));
      const dtype: DataType = (['float32', 'int32', 'bool'] as const)[trial % 3];
      const count = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: count }, (_, i) => (dtype === 'bool' ? i % 2 : i - 7.5 * (dtype === 'float32' ? 1 : 0)));
      const axis = random.nextInt(rank);
      await assertSameOnWasmAndCpu(() => tf.slice(tf.tensor(values, shape, dtype), begin, size), 0);
      await assertSameOnWasmAndCpu(() => tf.unstack(tf.tensor(values, shape, dtype), axis), 0);
      const first = random.nextInt(shape[axis] + 1);
      await assertSameOnWasmAndCpu(() => tf.split(tf.tensor(values, shape, dtype), [first, shape[axis] - first], axis), 0);
    }
  });

  it('Transpose and GatherV2 replacements match cpu, and hand other cases to the stock kernels', async () => {
    for (const [rows, cols] of [[1, 1], [3, 17], [16, 9], [33, 8]]) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const values = Array.from({ length: rows * cols }, (_, i) => (dtype === 'bool' ? Number(i % 3 === 0) : i * 1.5));
        await assertSameOnWasmAndCpu(() => tf.transpose(tf.tensor(values, [rows, cols], dtype)), 0);
      }
    }
    const cube = random.uniformArray(2 * 3 * 4, 1);
    await assertSameOnWasmAndCpu(() => tf.transpose(tf.tensor3d(cube, [2, 3, 4]), [2, 0, 1]), 0);
    // Stock reductions over a leading axis transpose internally.
    await assertSameOnWasmAndCpu(() => tf.sum(tf.tensor3d(cube, [2, 3, 4]), 0));

    const table = random.uniformArray(7 * 3 * 2, 1);
    const ids = [6, 0, 3, 3, 1, 5];
    await assertSameOnWasmAndCpu(() => tf.gather(tf.tensor3d(table, [7, 3, 2]), tf.tensor1d(ids, 'int32')), 0);
    await assertSameOnWasmAndCpu(() => tf.gather(tf.tensor1d(table), tf.tensor2d(ids, [2, 3], 'int32')), 0);
    await assertSameOnWasmAndCpu(() => tf.gather(tf.tensor2d(table, [7, 6]), tf.tensor1d([5, 0], 'int32'), 1), 0);
    await assertSameOnWasmAndCpu(() => tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor1d([1], 'int32')), 0);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    assert.throws(() => tf.gather(tf.tensor1d([1, 2]), tf.tensor1d([2], 'int32')), /index 2 is not in \[0, 1\]/);
    assert.equal(tf.memory().numTensors, before + 2, 'only the two inputs remain');
  });

  it('Identity shares the data: a clone outlives its original and stays correct', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const original = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const copy = tf.clone(original);
    original.dispose();
    const doubled = tf.mul(copy, 2);
    assert.deepEqual(Array.from(copy.dataSync()), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(doubled.dataSync()), [2, 4, 6, 8]);
    tf.dispose([copy, doubled]);
    assert.equal(tf.memory().numTensors, before);
    const [strings] = await runOn('wasm', () => tf.clone(tf.tensor1d(['a', 'b'])));
    assert.deepEqual(strings.shape, [2]);
  });

  it('Slice still handles string tensors on wasm', async () => {
    const [result] = await runOn('wasm', () => tf.slice(tf.tensor1d(['a', 'b', 'c']), [1], [2]));
    assert.deepEqual(result.shape, [2]);
  });
});
