import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import type { ParamMap } from '../../../../src/core/neural/lstm';
import { SeededRandom } from '../../../../src/core/neural/random';
import { adapt } from '../../../../src/core/meta/innerLoop';
import {
  createMetaSgdLearner,
  initMetaSgdState,
  learningRatesOf,
  metaSgdGradients,
  metaSgdStep,
} from '../../../../src/core/meta/metaSgd';
import { metaTrain } from '../../../../src/core/meta/metaTrain';
import { disposeMap, mapParams, meanLoss } from '../../../../src/core/meta/paramMaps';
import type { MetaTask } from '../../../../src/core/meta/tasks';
import { assertMapsClose, gradientOn, onlyBatch, shiftTasks, tinyParams } from './helpers';

function randomSigns(random: SeededRandom, size: number): number[] {
  return Array.from({ length: size }, () => (random.next() < 0.5 ? -1 : 1));
}

/** Mean of every α element. */
function meanRate(lrs: ParamMap): number {
  let sum = 0;
  let count = 0;
  for (const tensor of Object.values(lrs)) {
    for (const value of tensor.dataSync()) sum += value;
    count += tensor.size;
  }
  return sum / count;
}

/** L_query(θ − α ⊙ g_s(θ)) for one inner step with per-element rates. */
function queryLossAfterOneStep(params: ParamMap, lrs: ParamMap, task: MetaTask): number {
  const adapted = adapt(params, task.support, { steps: 1, lrs }).params;
  const value = meanLoss(adapted, task.query).loss;
  disposeMap(adapted);
  return value;
}

describe('Meta-SGD', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('the α-gradient of one inner step matches central finite differences', () => {
    const theta = tinyParams(4);
    const [task] = shiftTasks(21, 1);
    const state = initMetaSgdState(theta, 0.5);
    const gradients = metaSgdGradients(state, task, 1);
    const alpha = learningRatesOf(state);
    const random = new SeededRandom(9);
    // The gradient's own signs (steepest), random ±1 signs, and the gradient's signs on one tensor at a time.
    const directions: ParamMap[] = [
      mapParams(gradients.lrsGrad, (_, g) => tf.sign(g)),
      mapParams(alpha, (_, a) => tf.tensor(randomSigns(random, a.size), a.shape)),
    ];
    for (const name of ['output.bias', 'embedding']) {
      directions.push(mapParams(gradients.lrsGrad, (other, g) => (other === name ? tf.sign(g) : tf.zerosLike(g))));
    }
    const epsilon = 0.02;
    for (const direction of directions) {
      const analytic = tf.tidy(() =>
        tf
          .addN(Object.keys(direction).map((name) => tf.sum(tf.mul(gradients.lrsGrad[name], direction[name]))))
          .dataSync()[0],
      );
      const shifted = (sign: number): number => {
        const lrs = mapParams(alpha, (name, a) => tf.add(a, tf.mul(direction[name], sign * epsilon)));
        const value = queryLossAfterOneStep(theta, lrs, task);
        disposeMap(lrs);
        return value;
      };
      const numeric = (shifted(1) - shifted(-1)) / (2 * epsilon);
      assert.ok(Math.abs(analytic) > 1e-3, `directional derivative ${analytic} too small to test`);
      assert.ok(
        Math.abs(analytic - numeric) <= 0.02 * Math.abs(numeric) + 1e-5,
        `analytic ${analytic} vs finite difference ${numeric}`,
      );
    }
    // ∂L/∂log α = α ⊙ ∂L/∂α.
    const chained = mapParams(gradients.lrsGrad, (name, g) => tf.mul(g, alpha[name]));
    assertMapsClose(gradients.logLrsGrad, chained, 1e-7);
    [theta, alpha, chained, state.params, state.logLrs, ...directions].forEach(disposeMap);
    [gradients.paramsGrad, gradients.lrsGrad, gradients.logLrsGrad].forEach(disposeMap);
  });

  it('with one rate per tensor, the α-gradient is a scalar per tensor and matches finite differences', () => {
    const theta = tinyParams(4);
    const [task] = shiftTasks(21, 1);
    const state = initMetaSgdState(theta, 0.5, 'tensor');
    const gradients = metaSgdGradients(state, task, 1);
    const alpha = learningRatesOf(state);
    for (const name of Object.keys(theta)) assert.equal(gradients.lrsGrad[name].rank, 0, name);
    const epsilon = 0.02;
    for (const name of ['output.bias', 'embedding']) {
      const analytic = gradients.lrsGrad[name].dataSync()[0];
      const shifted = (sign: number): number => {
        const lrs = mapParams(alpha, (other, a) => (other === name ? tf.add(a, sign * epsilon) : tf.clone(a)));
        const value = queryLossAfterOneStep(theta, lrs, task);
        disposeMap(lrs);
        return value;
      };
      const numeric = (shifted(1) - shifted(-1)) / (2 * epsilon);
      assert.ok(Math.abs(analytic) > 1e-3, `${name}: derivative ${analytic} too small to test`);
      assert.ok(Math.abs(analytic - numeric) <= 0.02 * Math.abs(numeric) + 1e-5, `${name}: ${analytic} vs ${numeric}`);
    }
    const learner = createMetaSgdLearner();
    const next = learner.outerStep(state, [task], { innerSteps: 1, innerLr: 0, outerLr: 0.1 });
    for (const name of Object.keys(theta)) assert.equal(next.state.logLrs[name].rank, 0, `${name} stays a scalar`);
    [theta, alpha, gradients.paramsGrad, gradients.lrsGrad, gradients.logLrsGrad].forEach(disposeMap);
    learner.disposeState(state);
    learner.disposeState(next.state);
  });

  it('one outer step moves θ by β times the query gradient at φ and log α by the exact α-gradient', () => {
    const theta = tinyParams(5);
    const tasks = shiftTasks(22, 1);
    const state = initMetaSgdState(theta, 0.4);
    const [beta, betaRate] = [0.3, 2];
    const result = metaSgdStep(state, tasks, { innerSteps: 1, innerLr: 0, outerLr: beta }, { lrOuterLr: betaRate });

    const task = tasks[0];
    const supportGrad = gradientOn(theta, onlyBatch(task.support));
    const phi = mapParams(theta, (name, value) => tf.sub(value, tf.mul(supportGrad[name], 0.4)));
    const queryGrad = gradientOn(phi, onlyBatch(task.query));
    const expectedParams = mapParams(theta, (name, value) => tf.sub(value, tf.mul(queryGrad[name], beta)));
    const expectedLogLrs = mapParams(theta, (name) =>
      tf.add(
        tf.fill(theta[name].shape, Math.log(0.4)),
        tf.mul(tf.mul(queryGrad[name], supportGrad[name]), 0.4 * betaRate),
      ),
    );
    assertMapsClose(result.state.params, expectedParams, 1e-5);
    assertMapsClose(result.state.logLrs, expectedLogLrs, 1e-5);
    [theta, state.params, state.logLrs, result.state.params, result.state.logLrs].forEach(disposeMap);
    [supportGrad, phi, queryGrad, expectedParams, expectedLogLrs].forEach(disposeMap);
  });

  it('raises its inner learning rates when the first step is too timid for the tasks', () => {
    // Support and query of a task follow the same rule and α starts small, so
    // g_q(φ) and g_s(θ) mostly agree in sign: a larger step lowers the query loss.
    const theta = tinyParams(6);
    const tasks = shiftTasks(23, 8, 25);
    const initial = initMetaSgdState(theta, 0.2);
    // log α sees gradients of order α·|g|², far smaller than θ's, hence its own larger rate.
    const learner = createMetaSgdLearner({ lrOuterLr: 100 });
    const options = { outerSteps: 6, metaBatch: 4, innerSteps: 1, innerLr: 0.2, outerLr: 0.1, seed: 1 };
    const trained = metaTrain(learner, initial, tasks, options);
    const before = learningRatesOf(initial);
    const after = learningRatesOf(trained.state);
    let raised = 0;
    let lowered = 0;
    let smallest = Infinity;
    for (const name of Object.keys(after)) {
      const [next, previous] = [after[name].dataSync(), before[name].dataSync()];
      for (let i = 0; i < next.length; i++) {
        if (next[i] > previous[i] * 1.001) raised++;
        else if (next[i] < previous[i] * 0.999) lowered++;
        smallest = Math.min(smallest, next[i]);
      }
    }
    assert.ok(meanRate(after) > meanRate(before), `mean α ${meanRate(before)} -> ${meanRate(after)}`);
    assert.ok(raised > 2 * lowered, `${raised} rates raised, ${lowered} lowered`);
    assert.ok(smallest > 0, 'α stays positive');
    const lossWith = (lrs: ParamMap): number =>
      tasks.reduce((sum, task) => sum + queryLossAfterOneStep(theta, lrs, task), 0) / tasks.length;
    const [initialLoss, learnedLoss] = [lossWith(before), lossWith(after)];
    const message = `one-step query loss: initial α ${initialLoss}, learned α ${learnedLoss}`;
    assert.ok(learnedLoss < initialLoss - 0.02, message);
    [theta, before, after].forEach(disposeMap);
    learner.disposeState(initial);
    learner.disposeState(trained.state);
  });

  it('clamps α to its bounds', () => {
    const theta = tinyParams(8);
    const tasks = shiftTasks(24, 2);
    const state = initMetaSgdState(theta, 0.5);
    const bounds = { lrOuterLr: 1e6, minLr: 0.1, maxLr: 1 };
    const result = metaSgdStep(state, tasks, { innerSteps: 1, innerLr: 0, outerLr: 0.1 }, bounds);
    const rates = learningRatesOf(result.state);
    for (const tensor of Object.values(rates)) {
      for (const value of tensor.dataSync()) assert.ok(value >= 0.1 - 1e-6 && value <= 1 + 1e-6, `α = ${value}`);
    }
    [theta, rates, state.params, state.logLrs, result.state.params, result.state.logLrs].forEach(disposeMap);
  });

  it('leaks no tensors across an outer step with several inner steps', () => {
    const theta = tinyParams(2);
    const tasks = shiftTasks(3, 3, 25);
    const learner = createMetaSgdLearner();
    const state = initMetaSgdState(theta, 0.3);
    const before = tf.memory().numTensors;
    const result = learner.outerStep(state, tasks, { innerSteps: 3, innerLr: 0.3, outerLr: 0.1 });
    learner.disposeState(result.state);
    assert.equal(tf.memory().numTensors, before);
    learner.disposeState(state);
    disposeMap(theta);
  });
});
