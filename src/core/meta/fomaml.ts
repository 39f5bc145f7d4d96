import type { ParamMap } from '../neural/lstm';
import { runInnerLoop, sgdUpdate } from './innerLoop';
import { paramMapLearner, requireTasks } from './learner';
import type { MetaLearner, OuterStepOptions, OuterStepResult } from './learner';
import { disposeMap, lossAndGrads, meanParams } from './paramMaps';
import type { MetaTask } from './tasks';

/**
 * First-order MAML (Finn et al. 2017, §5.2): adapt θ to each task by k SGD
 * steps (rate `innerLr`) on its support set, take the query gradient at the
 * adapted parameters, and apply the meta-batch mean of it to θ:
 * θ ← θ − β·mean_τ ∇_φ L_query(φ_k(τ)), β = `outerLr`. The Jacobian
 * ∂φ_k/∂θ is taken as the identity (the first-order approximation).
 */
export function fomamlStep(
  params: ParamMap,
  tasks: readonly MetaTask[],
  options: OuterStepOptions,
): OuterStepResult<ParamMap> {
  requireTasks(tasks, 'FOMAML');
  const queryGrads: ParamMap[] = [];
  let queryLoss = 0;
  try {
    for (const task of tasks) {
      const phi = runInnerLoop(params, task.support, { steps: options.innerSteps, lr: options.innerLr }).params;
      const { loss, grads } = lossAndGrads(phi, task.query);
      disposeMap(phi);
      queryGrads.push(grads);
      queryLoss += loss;
    }
    const meanGrad = meanParams(queryGrads);
    const next = sgdUpdate(params, meanGrad, options.outerLr);
    disposeMap(meanGrad);
    return { state: next, metaLoss: queryLoss / tasks.length };
  } finally {
    queryGrads.forEach(disposeMap);
  }
}

export const fomamlLearner: MetaLearner<ParamMap> = paramMapLearner('fomaml', fomamlStep);
