import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../neural/lstm';
import { runInnerLoop } from './innerLoop';
import { paramMapLearner, requireTasks } from './learner';
import type { MetaLearner, OuterStepOptions, OuterStepResult } from './learner';
import { disposeMap, entryOf, mapParams, meanLoss, meanParams } from './paramMaps';
import type { MetaTask } from './tasks';

/**
 * Reptile (Nichol et al. 2018): adapt θ to each task of the meta-batch by k
 * SGD steps (rate `innerLr`) on its support set, then move θ towards the mean
 * of the adapted parameters: θ ← θ + ε·(mean_τ φ_k(τ) − θ), ε = `outerLr`
 * (1 jumps to the mean, 0 stays). No query gradient is needed; the query
 * loss at φ_k is measured only to report the meta-loss.
 */
export function reptileStep(
  params: ParamMap,
  tasks: readonly MetaTask[],
  options: OuterStepOptions,
): OuterStepResult<ParamMap> {
  requireTasks(tasks, 'Reptile');
  const adapted: ParamMap[] = [];
  let queryLoss = 0;
  try {
    for (const task of tasks) {
      const phi = runInnerLoop(params, task.support, { steps: options.innerSteps, lr: options.innerLr }).params;
      adapted.push(phi);
      queryLoss += meanLoss(phi, task.query).loss;
    }
    const mean = meanParams(adapted);
    const epsilon = options.outerLr;
    const next = mapParams(params, (name, theta) => tf.add(theta, tf.mul(tf.sub(entryOf(mean, name), theta), epsilon)));
    disposeMap(mean);
    return { state: next, metaLoss: queryLoss / tasks.length };
  } finally {
    adapted.forEach(disposeMap);
  }
}

export const reptileLearner: MetaLearner<ParamMap> = paramMapLearner('reptile', reptileStep);
