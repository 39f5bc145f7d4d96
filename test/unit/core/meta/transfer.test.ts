import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { AdamOptimizer } from '../../../../src/core/neural/train';
import { disposeMap, mapParams, meanLoss, readParams } from '../../../../src/core/meta/paramMaps';
import { fineTune, pretrain, trainingStreams, transferStep } from '../../../../src/core/meta/transfer';
import { countStreamTokens } from '../../../../src/core/meta/tasks';
import { assertMapsClose, gradientOn, onlyBatch, shiftTasks, tinyParams } from './helpers';

describe('transfer baseline', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('pre-training lowers the loss on the TRAIN files, then fine-tuning lowers a new file’s query loss', () => {
    const theta = tinyParams(1);
    const train = shiftTasks(31, 6, 25);
    const [newFile] = shiftTasks(32, 1, 25);
    const streams = trainingStreams(train);
    const epochLosses: number[] = [];
    const adam = new AdamOptimizer({ learningRate: 0.05 });
    const onEpoch = (_: number, epochLoss: number): number => epochLosses.push(epochLoss);
    const pretrained = pretrain(theta, streams, { epochs: 4, optimizer: adam, seed: 1, onEpoch });
    adam.dispose();
    assert.equal(epochLosses.length, 4);
    const [before, after] = [meanLoss(theta, streams).loss, meanLoss(pretrained, streams).loss];
    assert.ok(after < before - 0.1, `joint loss ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    const curve = fineTune(pretrained, newFile, { steps: 5, lr: 1 });
    assert.equal(curve.queryLosses.length, 6);
    const shown = curve.queryLosses.map((l) => l.toFixed(3)).join(' ');
    assert.ok(curve.queryLosses[5] < curve.queryLosses[0], `fine-tuning curve ${shown}`);
    [theta, pretrained, curve.params].forEach(disposeMap);
  });

  it('pre-training is reproducible for a seed and stops when aborted', () => {
    const theta = tinyParams(2);
    const streams = trainingStreams(shiftTasks(33, 4));
    const run = (signal?: AbortSignal): Record<string, Float32Array> => {
      const params = pretrain(theta, streams, { epochs: 2, optimizer: 0.5, seed: 9, signal });
      const values = readParams(params);
      disposeMap(params);
      return values;
    };
    assert.deepEqual(run(), run());
    const controller = new AbortController();
    controller.abort();
    assert.deepEqual(run(controller.signal), readParams(theta), 'aborted before the first stream: θ unchanged');
    disposeMap(theta);
  });

  it('as an outer step it is one SGD step on the mean joint-training gradient of the meta-batch', () => {
    const theta = tinyParams(3);
    const tasks = shiftTasks(34, 2);
    const beta = 0.4;
    const result = transferStep(theta, tasks, { innerSteps: 1, innerLr: 0.5, outerLr: beta });
    const taskGrads = tasks.map((task) => {
      const [support, query] = [onlyBatch(task.support), onlyBatch(task.query)];
      const [gs, gq] = [gradientOn(theta, support), gradientOn(theta, query)];
      const [ns, nq] = [countStreamTokens(task.support), countStreamTokens(task.query)];
      const mean = mapParams(gs, (name) => tf.div(tf.add(tf.mul(gs[name], ns), tf.mul(gq[name], nq)), ns + nq));
      [gs, gq].forEach(disposeMap);
      return mean;
    });
    const expected = mapParams(theta, (name, value) =>
      tf.sub(value, tf.mul(tf.div(tf.add(taskGrads[0][name], taskGrads[1][name]), 2), beta)),
    );
    assertMapsClose(result.state, expected, 1e-5);
    assert.ok(Number.isFinite(result.metaLoss));
    [theta, result.state, expected, ...taskGrads].forEach(disposeMap);
  });

  it('leaks no tensors across pre-training, fine-tuning and an outer step', () => {
    const theta = tinyParams(4);
    const tasks = shiftTasks(35, 2, 25);
    const before = tf.memory().numTensors;
    const adam = new AdamOptimizer({ learningRate: 0.01 });
    disposeMap(pretrain(theta, trainingStreams(tasks), { epochs: 1, optimizer: adam, seed: 1 }));
    adam.dispose();
    disposeMap(fineTune(theta, tasks[0], { steps: 2, lr: 0.5 }).params);
    disposeMap(transferStep(theta, tasks, { innerSteps: 2, innerLr: 0.5, outerLr: 0.1 }).state);
    assert.equal(tf.memory().numTensors, before);
    disposeMap(theta);
  });
});
