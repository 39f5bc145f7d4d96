import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { LmBatch } from '../../../../src/core/neural/batches';
import { flattenParams, initLstmParams, loss, unflattenParams } from '../../../../src/core/neural/lstm';
import type { LstmConfig, ParamMap } from '../../../../src/core/neural/lstm';
import { trainStep } from '../../../../src/core/neural/train';
import { meanAdaptationCurve } from '../../../../src/core/meta/innerLoop';
import type { MetaLearner, OuterStepOptions, OuterStepResult } from '../../../../src/core/meta/learner';
import { metaTrain } from '../../../../src/core/meta/metaTrain';
import { disposeMap } from '../../../../src/core/meta/paramMaps';
import type { MetaTask } from '../../../../src/core/meta/tasks';
import { shiftTaskFamily } from './toyTasks';

/** Small enough that a whole outer step takes milliseconds. */
export const tinyConfig: LstmConfig = { vocabSize: 8, embeddingSize: 4, hiddenSize: 5, layers: 1 };

export function tinyParams(seed: number): ParamMap {
  return flattenParams(initLstmParams(tinyConfig, seed));
}

/**
 * Shift-rule tasks of 2 x 4 batches. With `length` 17 and 9 support tokens,
 * support and query are one batch each, which the hand computations assume.
 */
export function shiftTasks(seed: number, tasks: number, length = 17, supportTokens = 9): MetaTask[] {
  return shiftTaskFamily({
    vocabSize: tinyConfig.vocabSize,
    shifts: [1, 2, 3],
    tasks,
    length,
    supportTokens,
    batchSize: 2,
    timeSteps: 4,
    seed,
  });
}

/** The only batch of a single-batch stream set. */
export function onlyBatch(streams: readonly (readonly LmBatch[])[]): LmBatch {
  assert.equal(streams.length, 1);
  assert.equal(streams[0].length, 1);
  return streams[0][0];
}

/** Reference inner loop: `steps` unclipped SGD steps with the neural module's trainStep. */
export function sgdByTrainStep(params: ParamMap, batch: LmBatch, lr: number, steps: number): ParamMap {
  let current = unflattenParams(params);
  for (let i = 0; i < steps; i++) {
    const result = trainStep(current, batch, lr, { clipNorm: Infinity });
    tf.dispose([...result.state.h, ...result.state.c]);
    if (i > 0) tf.dispose(Object.values(flattenParams(current)));
    current = result.params;
  }
  return flattenParams(current);
}

/** Reference gradient of the loss on one batch, straight from tf.valueAndGrads. */
export function gradientOn(params: ParamMap, batch: LmBatch): ParamMap {
  const names = Object.keys(params);
  return tf.tidy(() => {
    const { grads } = tf.valueAndGrads((...xs: Tensor[]) => {
      const map: ParamMap = {};
      names.forEach((name, i) => (map[name] = xs[i]));
      return loss(unflattenParams(map), batch);
    })(names.map((name) => params[name]));
    const result: ParamMap = {};
    names.forEach((name, i) => (result[name] = grads[i]));
    return result;
  });
}

export function assertMapsClose(actual: ParamMap, expected: ParamMap, tolerance: number): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const name of Object.keys(expected)) {
    const a = actual[name].dataSync();
    const e = expected[name].dataSync();
    assert.deepEqual(actual[name].shape, expected[name].shape, name);
    for (let i = 0; i < e.length; i++) {
      assert.ok(Math.abs(a[i] - e[i]) <= tolerance, `${name}[${i}]: ${a[i]} vs ${e[i]}`);
    }
  }
}

/** Largest absolute elementwise difference of two maps with the same layout. */
export function maxDifference(a: ParamMap, b: ParamMap): number {
  let largest = 0;
  for (const name of Object.keys(a)) {
    const x = a[name].dataSync();
    const y = b[name].dataSync();
    for (let i = 0; i < x.length; i++) largest = Math.max(largest, Math.abs(x[i] - y[i]));
  }
  return largest;
}

/** Query loss of each task's only query batch at its adapted parameters. */
export function queryLossesAt(adapted: readonly ParamMap[], tasks: readonly MetaTask[]): number[] {
  return tasks.map((task, i) => tf.tidy(() => loss(unflattenParams(adapted[i]), onlyBatch(task.query)).dataSync()[0]));
}

/**
 * Meta-trains `learner` from a random θ (20 outer steps of 3 shift tasks,
 * k = 5), then measures the mean held-out query loss after 5 inner steps
 * from the random θ and from the meta-learned one.
 */
export function heldOutAfterFiveSteps(
  learner: MetaLearner<ParamMap>,
  innerLr: number,
): { fromRandom: number; fromMeta: number; message: string } {
  const random = tinyParams(7);
  const train = shiftTasks(11, 12, 25);
  const heldOut = shiftTasks(12, 6, 25);
  const trained = metaTrain(learner, random, train, {
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
  disposeMap(random);
  disposeMap(trained.state);
  return { fromRandom, fromMeta, message };
}

/**
 * Live tensor counts around one outer step over parameter maps: before it,
 * after it, and after disposing its result; `params` is the size of θ.
 */
export function tensorsAcrossOuterStep(
  outerStep: (theta: ParamMap, tasks: readonly MetaTask[], options: OuterStepOptions) => OuterStepResult<ParamMap>,
): { before: number; afterStep: number; afterDispose: number; params: number } {
  const theta = tinyParams(2);
  const tasks = shiftTasks(3, 3, 25);
  const params = Object.keys(theta).length;
  const before = tf.memory().numTensors;
  const result = outerStep(theta, tasks, { innerSteps: 3, innerLr: 0.5, outerLr: 0.5 });
  const afterStep = tf.memory().numTensors;
  disposeMap(result.state);
  const afterDispose = tf.memory().numTensors;
  disposeMap(theta);
  return { before, afterStep, afterDispose, params };
}
