import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { makeBatches } from '../../../../src/core/neural/batches';
import { adapt, adaptWithCurve, meanAdaptationCurve } from '../../../../src/core/meta/innerLoop';
import {
  cloneParams,
  disposeMap,
  lossAndGrads,
  mapParams,
  meanLoss,
  readParams,
} from '../../../../src/core/meta/paramMaps';
import { makeTask } from '../../../../src/core/meta/tasks';
import { assertMapsClose, gradientOn, onlyBatch, sgdByTrainStep, shiftTasks, tinyParams } from './helpers';

describe('inner loop (adapt)', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('k steps equal k plain SGD steps of the training module, and leave θ alone', () => {
    const theta = tinyParams(1);
    const thetaValues = readParams(theta);
    const [task] = shiftTasks(2, 1);
    const result = adapt(theta, task.support, { steps: 3, lr: 0.8 });
    const expected = sgdByTrainStep(theta, onlyBatch(task.support), 0.8, 3);
    assertMapsClose(result.params, expected, 1e-5);
    assert.deepEqual(readParams(theta), thetaValues);
    assert.equal(result.supportLosses.length, 3);
    [theta, result.params, expected].forEach(disposeMap);
  });

  it('a per-parameter rate map multiplies the gradient elementwise', () => {
    const theta = tinyParams(3);
    const [task] = shiftTasks(4, 1);
    const lrs = mapParams(theta, (name, value) => tf.fill(value.shape, name === 'output.bias' ? 2 : 0.5));
    const result = adapt(theta, task.support, { steps: 1, lrs });
    const grads = gradientOn(theta, onlyBatch(task.support));
    const expected = mapParams(theta, (name, value) => tf.sub(value, tf.mul(grads[name], lrs[name])));
    assertMapsClose(result.params, expected, 1e-6);
    [theta, lrs, result.params, grads, expected].forEach(disposeMap);
  });

  it('the loss-vs-k curve starts at θ and falls as the model adapts to the file', () => {
    const theta = tinyParams(5);
    const [task] = shiftTasks(6, 1, 41, 21);
    const result = adaptWithCurve(theta, task.support, task.query, { steps: 5, lr: 1 });
    assert.equal(result.queryLosses.length, 6);
    assert.ok(Math.abs(result.queryLosses[0] - meanLoss(theta, task.query).loss) < 1e-6);
    assert.ok(Math.abs(result.queryLosses[5] - meanLoss(result.params, task.query).loss) < 1e-6);
    const curve = result.queryLosses.map((l) => l.toFixed(3)).join(' ');
    assert.ok(result.queryLosses[5] < result.queryLosses[0] - 0.05, `curve ${curve}`);
    [theta, result.params].forEach(disposeMap);
  });

  it('the support gradient over several streams is their token-weighted mean', () => {
    const theta = tinyParams(7);
    const first = makeBatches([1, 2, 3, 4, 5, 6, 7, 1, 2], { batchSize: 1, timeSteps: 8 });
    const second = makeBatches([3, 5, 7, 2], { batchSize: 1, timeSteps: 8 });
    const whole = lossAndGrads(theta, [first, second]);
    assert.equal(whole.tokens, 11);
    const [g1, g2] = [gradientOn(theta, first[0]), gradientOn(theta, second[0])];
    const expected = mapParams(theta, (name) => tf.div(tf.add(tf.mul(g1[name], 8), tf.mul(g2[name], 3)), 11));
    assertMapsClose(whole.grads, expected, 1e-6);
    [theta, whole.grads, g1, g2, expected].forEach(disposeMap);
  });

  it('carries the LSTM state along a stream: split batches give the loss of one long batch', () => {
    const theta = tinyParams(7);
    const ids = Array.from({ length: 12 }, (_, i) => 1 + ((i * 3) % 7));
    const split = makeTask('e.ts', ids, { batchSize: 1, timeSteps: 4, support: { kind: 'prefix', fraction: 1 } });
    const single = makeTask('e.ts', ids, { batchSize: 1, timeSteps: 11, support: { kind: 'prefix', fraction: 1 } });
    assert.equal(split.support[0].length, 3);
    const { loss, grads } = lossAndGrads(theta, split.support);
    assert.ok(Math.abs(loss - meanLoss(theta, single.support).loss) < 1e-5);
    [theta, grads].forEach(disposeMap);
  });

  it('the mean adaptation curve averages the per-task loss-vs-k curves', () => {
    const theta = tinyParams(6);
    const tasks = shiftTasks(13, 3, 25);
    const mean = meanAdaptationCurve(theta, tasks, { steps: 2, lr: 0.5 });
    const curves = tasks.map((task) => {
      const result = adaptWithCurve(theta, task.support, task.query, { steps: 2, lr: 0.5 });
      disposeMap(result.params);
      return result.queryLosses;
    });
    assert.equal(mean.length, 3);
    mean.forEach((value, k) => assert.ok(Math.abs(value - (curves[0][k] + curves[1][k] + curves[2][k]) / 3) < 1e-6));
    disposeMap(theta);
  });

  it('returns a copy of θ when there is nothing to adapt on, and a flat curve', () => {
    const theta = tinyParams(8);
    const [task] = shiftTasks(9, 1);
    const result = adaptWithCurve(theta, [], task.query, { steps: 3, lr: 1 });
    assert.deepEqual(readParams(result.params), readParams(theta));
    assert.notEqual(result.params['embedding'], theta['embedding']);
    assert.equal(new Set(result.queryLosses).size, 1);
    assert.equal(result.queryLosses.length, 4);
    [theta, result.params].forEach(disposeMap);
  });

  it('says what is missing when no learning rate is given', () => {
    const theta = tinyParams(8);
    assert.throws(() => adapt(theta, [], { steps: 1 }), /pass lr or lrs/);
    disposeMap(theta);
  });

  it('leaks no tensors across adapt, with or without the curve and clipping', () => {
    const theta = tinyParams(9);
    const copy = cloneParams(theta);
    const [task] = shiftTasks(10, 1, 25);
    const before = tf.memory().numTensors;
    disposeMap(adapt(theta, task.support, { steps: 3, lr: 0.5, clipNorm: 0.01 }).params);
    disposeMap(adaptWithCurve(theta, task.support, task.query, { steps: 2, lr: 0.5 }).params);
    disposeMap(lossAndGrads(theta, [...task.support, ...task.query]).grads);
    assert.equal(tf.memory().numTensors, before);
    [theta, copy].forEach(disposeMap);
  });
});
