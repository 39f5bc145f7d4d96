import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { loss, unflattenParams } from '../../../../src/core/neural/lstm';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { fomamlLearner, fomamlStep } from '../../../../src/core/meta/fomaml';
import { meanAdaptationCurve } from '../../../../src/core/meta/innerLoop';
import { metaTrain } from '../../../../src/core/meta/metaTrain';
import { disposeMap } from '../../../../src/core/meta/paramMaps';
import {
  assertMapsClose,
  gradientOn,
  maxDifference,
  onlyBatch,
  sgdByTrainStep,
  shiftTasks,
  tinyParams,
} from './helpers';

describe('first-order MAML', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('one outer step applies β times the mean query gradient at the adapted parameters to θ', () => {
    const theta = tinyParams(1);
    const tasks = shiftTasks(6, 2);
    const [innerLr, innerSteps, beta] = [0.7, 2, 0.3];
    const result = fomamlStep(theta, tasks, { innerSteps, innerLr, outerLr: beta });

    const adapted = tasks.map((task) => sgdByTrainStep(theta, onlyBatch(task.support), innerLr, innerSteps));
    const queryGrads = tasks.map((task, i) => gradientOn(adapted[i], onlyBatch(task.query)));
    const expected = tf.tidy(() => {
      const map: ParamMap = {};
      for (const name of Object.keys(theta)) {
        const meanGrad = tf.div(tf.add(queryGrads[0][name], queryGrads[1][name]), 2);
        map[name] = tf.sub(theta[name], tf.mul(meanGrad, beta));
      }
      return map;
    });
    assertMapsClose(result.state, expected, 1e-5);
    assert.ok(maxDifference(result.state, theta) > 1e-3, 'the step should move θ');
    const queryLosses = tasks.map((task, i) =>
      tf.tidy(() => loss(unflattenParams(adapted[i]), onlyBatch(task.query)).dataSync()[0]),
    );
    assert.ok(Math.abs(result.metaLoss - (queryLosses[0] + queryLosses[1]) / 2) < 1e-5);

    [theta, result.state, expected, ...adapted, ...queryGrads].forEach(disposeMap);
  });

  it('learns an init that adapts to an unseen task faster than the random init (k = 5)', () => {
    const random = tinyParams(7);
    const train = shiftTasks(11, 12, 25);
    const heldOut = shiftTasks(12, 6, 25);
    const innerLr = 2;
    const trained = metaTrain(fomamlLearner, random, train, {
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
    assert.ok(fromMeta < fromRandom - 0.1, message);
    disposeMap(random);
    disposeMap(trained.state);
  });

  it('leaks no tensors across an outer step', () => {
    const theta = tinyParams(2);
    const tasks = shiftTasks(3, 3, 25);
    const before = tf.memory().numTensors;
    const result = fomamlStep(theta, tasks, { innerSteps: 3, innerLr: 0.5, outerLr: 0.5 });
    assert.equal(tf.memory().numTensors, before + Object.keys(theta).length);
    disposeMap(result.state);
    assert.equal(tf.memory().numTensors, before);
    disposeMap(theta);
  });
});
