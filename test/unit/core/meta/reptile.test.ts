import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { disposeMap } from '../../../../src/core/meta/paramMaps';
import { reptileLearner, reptileStep } from '../../../../src/core/meta/reptile';
import {
  assertMapsClose,
  heldOutAfterFiveSteps,
  maxDifference,
  onlyBatch,
  queryLossesAt,
  sgdByTrainStep,
  shiftTasks,
  tensorsAcrossOuterStep,
  tinyParams,
} from './helpers';

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
    const queryLosses = queryLossesAt(adapted, tasks);
    assert.ok(Math.abs(result.metaLoss - (queryLosses[0] + queryLosses[1]) / 2) < 1e-5);

    [theta, result.state, expected, ...adapted].forEach(disposeMap);
  });

  it('learns an init that adapts to an unseen task faster than the random init (k = 5)', () => {
    const { fromRandom, fromMeta, message } = heldOutAfterFiveSteps(reptileLearner, 1);
    assert.ok(fromMeta < fromRandom - 0.3, message);
  });

  it('leaks no tensors across an outer step', () => {
    const counts = tensorsAcrossOuterStep(reptileStep);
    assert.equal(counts.afterStep, counts.before + counts.params);
    assert.equal(counts.afterDispose, counts.before);
  });
});
