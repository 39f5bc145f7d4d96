import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { fomamlLearner, fomamlStep } from '../../../../src/core/meta/fomaml';
import { disposeMap } from '../../../../src/core/meta/paramMaps';
import {
  assertMapsClose,
  gradientOn,
  heldOutAfterFiveSteps,
  maxDifference,
  onlyBatch,
  queryLossesAt,
  sgdByTrainStep,
  shiftTasks,
  tensorsAcrossOuterStep,
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
    const queryLosses = queryLossesAt(adapted, tasks);
    assert.ok(Math.abs(result.metaLoss - (queryLosses[0] + queryLosses[1]) / 2) < 1e-5);

    [theta, result.state, expected, ...adapted, ...queryGrads].forEach(disposeMap);
  });

  it('learns an init that adapts to an unseen task faster than the random init (k = 5)', () => {
    const { fromRandom, fromMeta, message } = heldOutAfterFiveSteps(fomamlLearner, 2);
    assert.ok(fromMeta < fromRandom - 0.1, message);
  });

  it('leaks no tensors across an outer step', () => {
    const counts = tensorsAcrossOuterStep(fomamlStep);
    assert.equal(counts.afterStep, counts.before + counts.params);
    assert.equal(counts.afterDispose, counts.before);
  });
});
