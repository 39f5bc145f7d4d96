import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { loss, unflattenParams } from '../../../../src/core/neural/lstm';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { meanAdaptationCurve } from '../../../../src/core/meta/innerLoop';
import { metaTrain } from '../../../../src/core/meta/metaTrain';
import { disposeMap } from '../../../../src/core/meta/paramMaps';
import { reptileLearner, reptileStep } from '../../../../src/core/meta/reptile';
import { assertMapsClose, maxDifference, onlyBatch, sgdByTrainStep, shiftTasks, tinyParams } from './helpers';

describe('Reptile', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('one outer step moves θ by ε towards the mean of the SGD-adapted parameters', () => {
    const theta = tinyParams(1);
    const tasks = shiftTasks(5, 2);
    const [innerLr, innerSteps, epsilon] = [0.7, 2, 0.4];
    const result = reptileStep(theta, tasks, { innerSteps, innerLr, outerLr: epsilon });

    const adapted = tasks.map((task) => sgdByTrainStep(theta, onlyBatch(task.support), innerLr, innerSteps));
    const expected = tf.tidy(() => {
      const map: ParamMap = {};
      for (const name of Object.keys(theta)) {
        const mean = tf.div(tf.add(adapted[0][name], adapted[1][name]), 2);
        map[name] = tf.add(theta[name], tf.mul(tf.sub(mean, theta[name]), epsilon));
      }
      return map;
    });
    assertMapsClose(result.state, expected, 1e-5);
    assert.ok(maxDifference(result.state, theta) > 1e-3, 'the step should move θ');
    const queryLosses = tasks.map((task, i) =>
      tf.tidy(() => loss(unflattenParams(adapted[i]), onlyBatch(task.query)).dataSync()[0]),
    );
    assert.ok(Math.abs(result.metaLoss - (queryLosses[0] + queryLosses[1]) / 2) < 1e-5);

    [theta, result.state, expected, ...adapted].forEach(disposeMap);
  });

  it('learns an init that adapts to an unseen task faster than the random init (k = 5)', () => {
    const random = tinyParams(7);
    const train = shiftTasks(11, 12, 25);
    const heldOut = shiftTasks(12, 6, 25);
    const innerLr = 1;
    const trained = metaTrain(reptileLearner, random, train, {
      outerSteps: 20,
      metaBatch: 3,
      innerSteps: 5,
      innerLr,
      outerLr: 1,
      seed: 3,
    });
    const fromRandom = meanAdaptationCurve(random, heldOut, { steps: 5, lr: innerLr })[5];
    const fromMeta = meanAdaptationCurve(trained.state, heldOut, { steps: 5, lr: innerLr })[5];
    const message = `query loss after 5 steps: meta ${fromMeta.toFixed(3)}, random ${fromRandom.toFixed(3)}`;
    assert.ok(fromMeta < fromRandom - 0.3, message);
    disposeMap(random);
    disposeMap(trained.state);
  });

  it('leaks no tensors across an outer step', () => {
    const theta = tinyParams(2);
    const tasks = shiftTasks(3, 3, 25);
    const before = tf.memory().numTensors;
    const result = reptileStep(theta, tasks, { innerSteps: 3, innerLr: 0.5, outerLr: 0.5 });
    assert.equal(tf.memory().numTensors, before + Object.keys(theta).length);
    disposeMap(result.state);
    assert.equal(tf.memory().numTensors, before);
    disposeMap(theta);
  });
});
