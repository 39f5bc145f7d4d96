import * as tf from '@tensorflow/tfjs-core';
import type { ParamMap } from '../neural/lstm';
import { cloneParams, disposeMap, entryOf, globalNorm, lossAndGrads, mapParams, meanLoss } from './paramMaps';
import type { BatchStream } from './paramMaps';

export interface AdaptOptions {
  /** Inner SGD steps k; each is one full-batch step on the whole support set. */
  steps: number;
  /** One inner learning rate for every parameter. */
  lr?: number;
  /**
   * Per-parameter inner learning rates (Meta-SGD): each entry has its
   * parameter's shape (or broadcasts to it) and multiplies the gradient
   * elementwise. Takes precedence over `lr`.
   */
  lrs?: ParamMap;
  /** Rescale a step's gradient when its global norm exceeds this. Default: no clipping. */
  clipNorm?: number;
}

export interface AdaptResult {
  /** φ_k, new tensors (the input parameters are left alone). */
  params: ParamMap;
  /** Support loss before each step, nats per token (length `steps`). */
  supportLosses: number[];
}

export interface AdaptCurveResult extends AdaptResult {
  /** Query loss after k = 0..steps inner steps (length `steps + 1`): the panel's loss-vs-k curve. */
  queryLosses: number[];
}

/**
 * Adapts θ to a task by plain SGD on its support set:
 * φ₀ = θ, φⱼ₊₁ = φⱼ − lr·∇L_support(φⱼ) (or `lrs ⊙ ∇L_support`).
 * With no support tokens or zero steps it returns a copy of θ.
 */
export function adapt(params: ParamMap, support: readonly BatchStream[], options: AdaptOptions): AdaptResult {
  return runInnerLoop(params, support, options);
}

/** {@link adapt}, also measuring the query loss after every step. */
export function adaptWithCurve(
  params: ParamMap,
  support: readonly BatchStream[],
  query: readonly BatchStream[],
  options: AdaptOptions,
): AdaptCurveResult {
  const queryLosses: number[] = [];
  const result = runInnerLoop(params, support, options, (current) => queryLosses.push(meanLoss(current, query).loss));
  // Without support tokens the loop stops early; the curve is then flat.
  while (queryLosses.length < options.steps + 1) queryLosses.push(queryLosses[queryLosses.length - 1]);
  return { ...result, queryLosses };
}

/** One SGD step φ − rate ⊙ g over a map, `rate` a number or a per-parameter map. */
export function sgdUpdate(params: ParamMap, grads: ParamMap, rate: number | ParamMap): ParamMap {
  return mapParams(params, (name, value) => {
    const grad = entryOf(grads, name, 'gradient');
    const scale = typeof rate === 'number' ? rate : entryOf(rate, name, 'learning-rate map');
    return tf.sub(value, tf.mul(grad, scale));
  });
}

/**
 * The inner loop shared by every learner. `observe` sees φ₀ .. φ_k (not to be
 * kept); `onSupportGradient` sees each support gradient ∇L_support(φⱼ) before
 * it is disposed (Meta-SGD sums them).
 */
export function runInnerLoop(
  params: ParamMap,
  support: readonly BatchStream[],
  options: AdaptOptions,
  observe?: (current: ParamMap) => void,
  onSupportGradient?: (grads: ParamMap) => void,
): AdaptResult {
  const { steps } = options;
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(`Inner steps must be a non-negative integer, got ${steps}.`);
  }
  const rate: number | ParamMap | undefined = options.lrs ?? options.lr;
  if (rate === undefined) throw new Error('adapt needs an inner learning rate: pass lr or lrs.');
  const clipNorm = options.clipNorm ?? Infinity;
  let current = cloneParams(params);
  const supportLosses: number[] = [];
  observe?.(current);
  for (let step = 0; step < steps; step++) {
    const measured = lossAndGrads(current, support);
    let grads = measured.grads;
    if (measured.tokens === 0) {
      disposeMap(grads);
      break;
    }
    supportLosses.push(measured.loss);
    const norm = Number.isFinite(clipNorm) ? globalNorm(grads) : 0;
    if (norm > clipNorm) {
      const clipped = mapParams(grads, (_, g) => tf.mul(g, clipNorm / norm));
      disposeMap(grads);
      grads = clipped;
    }
    onSupportGradient?.(grads);
    const next = sgdUpdate(current, grads, rate);
    disposeMap(grads);
    disposeMap(current);
    current = next;
    observe?.(current);
  }
  return { params: current, supportLosses };
}

/**
 * The mean over tasks of the loss-vs-k curve: query loss after 0..steps inner
 * steps from the same `params`. How the panel and the CLI compare inits.
 */
export function meanAdaptationCurve(
  params: ParamMap,
  tasks: readonly { support: readonly BatchStream[]; query: readonly BatchStream[] }[],
  options: AdaptOptions,
): number[] {
  if (tasks.length === 0) throw new Error('meanAdaptationCurve needs at least one task.');
  const total = new Array<number>(options.steps + 1).fill(0);
  for (const task of tasks) {
    const curve = adaptWithCurve(params, task.support, task.query, options);
    disposeMap(curve.params);
    curve.queryLosses.forEach((loss, k) => (total[k] += loss));
  }
  return total.map((sum) => sum / tasks.length);
}
