import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { countTokens } from './batches';
import type { LmBatch } from './batches';
import { disposeState, flattenParams, lossAndState, unflattenParams, unflattenTrainable } from './lstm';
import type { LstmParams, LstmState, ParamMap } from './lstm';
import { flushTinyNonNegative } from './ops';

/**
 * Optimisers over named parameter maps. `apply` returns new tensors and
 * leaves its inputs alone, so the same code serves long training runs
 * (dispose the old map) and meta-learning (keep it).
 */
export interface MapOptimizer {
  apply(params: ParamMap, grads: ParamMap): ParamMap;
  /** Frees the optimiser's own state (moments). */
  dispose(): void;
}

export class SgdOptimizer implements MapOptimizer {
  constructor(readonly learningRate: number) {}

  apply(params: ParamMap, grads: ParamMap): ParamMap {
    return tf.tidy(() => mapEntries(params, (name, value) => tf.sub(value, tf.mul(gradOf(grads, name), this.learningRate))));
  }

  dispose(): void {}
}

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** Adam (Kingma & Ba) with bias correction; moments are kept per parameter name. */
export class AdamOptimizer implements MapOptimizer {
  readonly learningRate: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private steps = 0;
  private firstMoments: ParamMap = {};
  private secondMoments: ParamMap = {};

  constructor(options: AdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
  }

  apply(params: ParamMap, grads: ParamMap): ParamMap {
    this.steps++;
    const correctedRate =
      (this.learningRate * Math.sqrt(1 - this.beta2 ** this.steps)) / (1 - this.beta1 ** this.steps);
    const first: ParamMap = {};
    const second: ParamMap = {};
    const updated = tf.tidy(() =>
      mapEntries(params, (name, value) => {
        const grad = gradOf(grads, name);
        const m = tf.add(tf.mul(this.firstMoments[name] ?? tf.zerosLike(value), this.beta1), tf.mul(grad, 1 - this.beta1));
        // Squares of small gradients are denormal; flushing keeps the moment
        // arithmetic at full speed on wasm.
        const v = flushTinyNonNegative(
          tf.add(tf.mul(this.secondMoments[name] ?? tf.zerosLike(value), this.beta2), tf.mul(tf.square(grad), 1 - this.beta2)),
        );
        first[name] = tf.keep(m);
        second[name] = tf.keep(v);
        return tf.sub(value, tf.div(tf.mul(m, correctedRate), tf.add(tf.sqrt(v), this.epsilon)));
      }),
    );
    this.dispose();
    this.firstMoments = first;
    this.secondMoments = second;
    return updated;
  }

  dispose(): void {
    tf.dispose([...Object.values(this.firstMoments), ...Object.values(this.secondMoments)]);
    this.firstMoments = {};
    this.secondMoments = {};
  }
}

export interface TrainStepOptions {
  /** State carried from the previous segment of the same lanes (not differentiated). */
  state?: LstmState;
  /** Rescale the gradient when its global L2 norm exceeds this. Default 5; Infinity disables. */
  clipNorm?: number;
}

export interface TrainStepResult {
  /** Updated parameters (new tensors; the input params are not disposed). */
  params: LstmParams;
  /** Loss before the update, nats per token. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Final state, to pass with the next segment; the caller disposes it. */
  state: LstmState;
}

/**
 * One optimisation step on one batch. A number is plain SGD with that
 * learning rate. Truncated BPTT: gradients flow within the batch only.
 */
export function trainStep(
  params: LstmParams,
  batch: LmBatch,
  optimizerOrLr: MapOptimizer | number,
  options: TrainStepOptions = {},
): TrainStepResult {
  const result = trainMapStep(flattenParams(params), batch, optimizerOrLr, options);
  return { ...result, params: unflattenParams(result.params) };
}

/**
 * {@link trainStep} on a parameter map, plain or tied (see
 * `TIED_PROJECTION`): the update is over the map's own tensors.
 * @returns the updated map (new tensors; the input map is not disposed).
 */
export function trainMapStep(
  flat: ParamMap,
  batch: LmBatch,
  optimizerOrLr: MapOptimizer | number,
  options: TrainStepOptions = {},
): Omit<TrainStepResult, 'params'> & { params: ParamMap } {
  const optimizer = typeof optimizerOrLr === 'number' ? new SgdOptimizer(optimizerOrLr) : optimizerOrLr;
  const clipNorm = options.clipNorm ?? 5;
  const names = Object.keys(flat);
  const values = names.map((name) => flat[name]);
  let finalState: LstmState | undefined;
  const result = tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads((...xs: Tensor[]) => {
      const map: ParamMap = {};
      names.forEach((name, i) => (map[name] = xs[i]));
      const out = lossAndState(unflattenTrainable(map), batch, options.state);
      finalState = { h: out.state.h.map((t) => tf.keep(t)), c: out.state.c.map((t) => tf.keep(t)) };
      return out.loss;
    })(values);
    const squaredNorm = tf.addN(grads.map((grad) => tf.sum(tf.square(grad)))) as Scalar;
    const norm = tf.sqrt(squaredNorm);
    const scale = Number.isFinite(clipNorm) ? tf.minimum(1, tf.div(clipNorm, tf.add(norm, 1e-12))) : tf.scalar(1);
    const gradMap: ParamMap = {};
    names.forEach((name, i) => (gradMap[name] = tf.mul(grads[i], scale)));
    const next = optimizer.apply(flat, gradMap);
    return { next, value, norm };
  });
  const [lossValue, normValue] = [result.value.dataSync()[0], result.norm.dataSync()[0]];
  tf.dispose([result.value, result.norm]);
  if (finalState === undefined) throw new Error('trainStep: the loss function did not run.');
  return { params: result.next, loss: lossValue, gradNorm: normValue, state: finalState };
}

/**
 * Mean cross-entropy (nats per real token) over consecutive batches of the
 * same lanes, carrying the state from one to the next.
 */
export function evaluateLoss(params: LstmParams, batches: readonly LmBatch[]): { loss: number; tokens: number } {
  let state: LstmState | undefined;
  let weightedSum = 0;
  let tokens = 0;
  for (const batch of batches) {
    const out = lossAndState(params, batch, state);
    disposeState(state);
    state = out.state;
    const count = countTokens(batch);
    weightedSum += out.loss.dataSync()[0] * count;
    tokens += count;
    out.loss.dispose();
  }
  disposeState(state);
  return { loss: tokens > 0 ? weightedSum / tokens : 0, tokens };
}

function gradOf(grads: ParamMap, name: string): Tensor {
  const grad = grads[name];
  if (grad === undefined) throw new Error(`No gradient for parameter "${name}".`);
  return grad;
}

function mapEntries(params: ParamMap, update: (name: string, value: Tensor) => Tensor): ParamMap {
  const result: ParamMap = {};
  for (const [name, value] of Object.entries(params)) result[name] = update(name, value);
  return result;
}
