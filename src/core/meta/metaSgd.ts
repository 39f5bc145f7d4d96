import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../neural/lstm';
import { runInnerLoop, sgdUpdate } from './innerLoop';
import { requireTasks } from './learner';
import type { MetaLearner, OuterStepOptions, OuterStepResult } from './learner';
import { cloneParams, disposeMap, entryOf, lossAndGrads, mapParams, meanParams } from './paramMaps';
import type { MetaTask } from './tasks';

/**
 * Meta-SGD (Li et al. 2017): besides the initialisation θ, learn the inner
 * learning rates α; the inner step is φ = θ − α ⊙ ∇L_support(θ). By default
 * α has one rate per parameter ELEMENT (the same shapes as θ, as in the
 * paper); `granularity: 'tensor'` learns one scalar per parameter tensor
 * instead, whose gradient is the sum of the elementwise one over the tensor.
 *
 * α is kept positive by learning log α (`logLrs`) and clamping it to
 * [ln minLr, ln maxLr]: a negative rate would ascend the support loss and an
 * unbounded one diverges.
 *
 * Gradients, for one inner step φ = θ − α ⊙ g_s(θ), with g_q = ∇L_query:
 * - ∂L_q/∂α = −g_q(φ) ⊙ g_s(θ), exact; hence ∂L_q/∂log α = α ⊙ ∂L_q/∂α;
 * - ∂L_q/∂θ = (I − α ⊙ H_s)·g_q(φ) ≈ g_q(φ), first order (no Hessian).
 * With k > 1 inner steps the same first-order rule gives
 * ∂L_q/∂α ≈ −g_q(φ_k) ⊙ Σⱼ g_s(φⱼ), exact again when k = 1.
 */
export interface MetaSgdState {
  /** The initialisation θ. */
  params: ParamMap;
  /** log α: same names as θ; same shapes, or scalars with `granularity: 'tensor'`. */
  logLrs: ParamMap;
}

export interface MetaSgdOptions {
  /**
   * Outer learning rate of log α. Default: `outerLr` of each step. Its
   * gradient is of order α·|g|², far below θ's, so plain SGD usually needs a
   * much larger rate here (100 on the tiny test model).
   */
  lrOuterLr?: number;
  /** Bounds of α. Defaults 1e-6 and 10. */
  minLr?: number;
  maxLr?: number;
}

/** One rate per parameter element, or one per parameter tensor. */
export type LrGranularity = 'element' | 'tensor';

/** A state owning copies of `params` and α = `initialLr` everywhere. */
export function initMetaSgdState(
  params: ParamMap,
  initialLr: number,
  granularity: LrGranularity = 'element',
): MetaSgdState {
  if (!(initialLr > 0)) throw new RangeError(`Meta-SGD needs a positive initial learning rate, got ${initialLr}.`);
  return {
    params: cloneParams(params),
    logLrs: mapParams(params, (_, value) => tf.fill(granularity === 'element' ? value.shape : [], Math.log(initialLr))),
  };
}

/** α = exp(log α), new tensors. */
export function learningRatesOf(state: MetaSgdState): ParamMap {
  return mapParams(state.logLrs, (_, logLr) => tf.exp(logLr));
}

export interface MetaSgdGradients {
  /** L_query(φ_k), nats per token. */
  queryLoss: number;
  /** g_q(φ_k): the first-order gradient with respect to θ. */
  paramsGrad: ParamMap;
  /** ∂L_q/∂α (see the module note), shaped like α. */
  lrsGrad: ParamMap;
  /** ∂L_q/∂log α = α ⊙ ∂L_q/∂α. */
  logLrsGrad: ParamMap;
}

/** The meta-gradients of one task; the caller disposes the three maps. */
export function metaSgdGradients(state: MetaSgdState, task: MetaTask, innerSteps: number): MetaSgdGradients {
  const lrs = learningRatesOf(state);
  let supportSum: ParamMap | undefined;
  const phi = runInnerLoop(state.params, task.support, { steps: innerSteps, lrs }, undefined, (grads) => {
    const previous = supportSum;
    supportSum = previous ? mapParams(grads, (name, g) => tf.add(entryOf(previous, name), g)) : cloneParams(grads);
    disposeMap(previous);
  }).params;
  const { loss, grads } = lossAndGrads(phi, task.query);
  disposeMap(phi);
  const sum = supportSum;
  // A scalar rate scales its whole tensor: its gradient sums the elementwise one.
  const lrsGrad = mapParams(lrs, (name, lr) => {
    const queryGrad = entryOf(grads, name);
    const elementwise = sum ? tf.neg(tf.mul(queryGrad, entryOf(sum, name))) : tf.zerosLike(queryGrad);
    return lr.rank === 0 ? tf.sum(elementwise) : elementwise;
  });
  const logLrsGrad = mapParams(lrsGrad, (name, g) => tf.mul(g, entryOf(lrs, name)));
  disposeMap(sum);
  disposeMap(lrs);
  return { queryLoss: loss, paramsGrad: grads, lrsGrad, logLrsGrad };
}

/**
 * One Meta-SGD outer step over a meta-batch: θ ← θ − β·mean g_q(φ_k) and
 * log α ← clamp(log α − β_α·mean ∂L_q/∂log α), β = `outerLr`, β_α =
 * `lrOuterLr` (default β). `innerLr` is unused: α replaces it (it seeds α in
 * {@link initMetaSgdState}).
 */
export function metaSgdStep(
  state: MetaSgdState,
  tasks: readonly MetaTask[],
  options: OuterStepOptions,
  metaOptions: MetaSgdOptions = {},
): OuterStepResult<MetaSgdState> {
  requireTasks(tasks, 'Meta-SGD');
  const lowest = Math.log(metaOptions.minLr ?? 1e-6);
  const highest = Math.log(metaOptions.maxLr ?? 10);
  const lrOuterLr = metaOptions.lrOuterLr ?? options.outerLr;
  const paramsGrads: ParamMap[] = [];
  const logLrsGrads: ParamMap[] = [];
  let queryLoss = 0;
  try {
    for (const task of tasks) {
      const gradients = metaSgdGradients(state, task, options.innerSteps);
      disposeMap(gradients.lrsGrad);
      paramsGrads.push(gradients.paramsGrad);
      logLrsGrads.push(gradients.logLrsGrad);
      queryLoss += gradients.queryLoss;
    }
    const meanParamsGrad = meanParams(paramsGrads);
    const meanLogLrsGrad = meanParams(logLrsGrads);
    const params = sgdUpdate(state.params, meanParamsGrad, options.outerLr);
    const logLrs = mapParams(state.logLrs, (name, logLr) =>
      tf.clipByValue(tf.sub(logLr, tf.mul(entryOf(meanLogLrsGrad, name), lrOuterLr)), lowest, highest),
    );
    disposeMap(meanParamsGrad);
    disposeMap(meanLogLrsGrad);
    return { state: { params, logLrs }, metaLoss: queryLoss / tasks.length };
  } finally {
    paramsGrads.forEach(disposeMap);
    logLrsGrads.forEach(disposeMap);
  }
}

export function createMetaSgdLearner(metaOptions: MetaSgdOptions = {}): MetaLearner<MetaSgdState> {
  return {
    name: 'meta-sgd',
    outerStep: (state, tasks, options) => metaSgdStep(state, tasks, options, metaOptions),
    paramsOf: (state) => state.params,
    cloneState: (state) => ({ params: cloneParams(state.params), logLrs: cloneParams(state.logLrs) }),
    disposeState: (state) => {
      disposeMap(state.params);
      disposeMap(state.logLrs);
    },
  };
}
