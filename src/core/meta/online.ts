import * as tf from '@tensorflow/tfjs-core';
import { countTokens } from '../neural/batches';
import type { LmBatch } from '../neural/batches';
import { forward, unflattenParams } from '../neural/lstm';
import type { LstmState, ParamMap } from '../neural/lstm';
import { batchLossAndGrads, cloneParams, disposeMap, entryOf, lossAndGrads, lstmBatchLoss, mapParams } from './paramMaps';
import type { BatchStream } from './paramMaps';

/**
 * Dynamic evaluation (Krause et al. 2018) while the user types: the model
 * keeps adapting to the current file. For each new segment, it first scores
 * the segment with the current parameters θ (that score is the honest
 * "before seeing it" loss), then takes one RMS-normalised gradient step on
 * the segment's LM loss and decays back toward the meta-learned θ₀:
 *
 *   MS ← ρ·MS + (1 − ρ)·g²            (online; or fixed, estimated on training data)
 *   θ  ← θ − η · g / (√MS + ε)
 *   θ  ← θ₀ + (1 − λ)·(θ − θ₀)        (= θ + λ·(θ₀ − θ); λ = 1 gives exactly θ₀)
 *
 * The normalisation gives every parameter a step of comparable size whatever
 * its gradient scale; the decay keeps a long session from drifting away from
 * what meta-training learned. The LSTM state runs on across segments of the
 * same file. Switching files switches the task: call {@link DynamicEvaluator.reset}.
 */
export interface DynamicEvaluationOptions {
  /** Step size η (> 0). */
  lr: number;
  /** Decay λ ∈ [0, 1] toward θ₀ after each step; 0 keeps every adaptation, 1 undoes it. */
  decay: number;
  /** ε of the denominator. Default 1e-6. */
  epsilon?: number;
  /**
   * Fixed mean squared gradients MS (same names and shapes as θ₀), e.g. from
   * {@link estimateMeanSquares} on training data. The evaluator copies them.
   * Default: a running mean over the observed segments, which restarts on reset.
   */
  meanSquares?: ParamMap;
  /** ρ of the running mean of g². Default 0.9. Unused with fixed `meanSquares`. */
  meanSquaresDecay?: number;
}

/** What {@link DynamicEvaluator.observe} measured on a segment, before adapting to it. */
export interface SegmentScore {
  /** Mean cross-entropy in nats per predicted token with the parameters before the step (0 when `tokens` is 0). */
  loss: number;
  /** Tokens predicted: the segment's tokens, minus the first one of a file (it has no context). */
  tokens: number;
}

/**
 * Mean over all non-empty batches of the squared gradient of each batch's
 * loss: the MS that Krause et al. estimate on training data. New tensors.
 */
export function estimateMeanSquares(params: ParamMap, streams: readonly BatchStream[]): ParamMap {
  let sum = mapParams(params, (_, value) => tf.zerosLike(value));
  let batches = 0;
  for (const stream of streams) {
    for (const batch of stream) {
      if (countTokens(batch) === 0) continue;
      const { grads } = lossAndGrads(params, [[batch]]);
      const next = mapParams(sum, (name, value) => tf.add(value, tf.square(entryOf(grads, name))));
      disposeMap(grads);
      disposeMap(sum);
      sum = next;
      batches++;
    }
  }
  if (batches === 0) {
    disposeMap(sum);
    throw new Error('estimateMeanSquares: the streams hold no tokens; pass some training batches.');
  }
  const mean = mapParams(sum, (_, value) => tf.div(value, batches));
  disposeMap(sum);
  return mean;
}

export class DynamicEvaluator {
  private readonly initial: ParamMap;
  private readonly fixedMeanSquares: ParamMap | undefined;
  private readonly epsilon: number;
  private readonly meanSquaresDecay: number;
  private params: ParamMap;
  private runningMeanSquares: ParamMap | undefined;
  private state: LstmState | undefined;
  private lastToken: number | undefined;
  private disposed = false;

  /** Copies θ₀ (and `meanSquares`); the caller keeps ownership of what it passes. */
  constructor(
    initialParams: ParamMap,
    private readonly options: DynamicEvaluationOptions,
  ) {
    if (!(options.lr > 0)) throw new RangeError(`Dynamic evaluation needs a positive lr, got ${options.lr}.`);
    if (!(options.decay >= 0 && options.decay <= 1)) throw new RangeError(`Decay must lie in [0, 1], got ${options.decay}.`);
    this.epsilon = options.epsilon ?? 1e-6;
    this.meanSquaresDecay = options.meanSquaresDecay ?? 0.9;
    if (!(this.epsilon > 0)) throw new RangeError(`epsilon must be positive, got ${this.epsilon}.`);
    if (!(this.meanSquaresDecay >= 0 && this.meanSquaresDecay < 1)) {
      throw new RangeError(`meanSquaresDecay must lie in [0, 1), got ${this.meanSquaresDecay}.`);
    }
    if (options.meanSquares) {
      for (const name of Object.keys(initialParams)) entryOf(options.meanSquares, name, 'mean-squares map');
    }
    this.initial = cloneParams(initialParams);
    this.fixedMeanSquares = options.meanSquares ? cloneParams(options.meanSquares) : undefined;
    this.params = cloneParams(this.initial);
  }

  /** θ now: owned by the evaluator, valid until the next `observe`, `reset` or `dispose`. */
  currentParams(): ParamMap {
    this.assertLive();
    return this.params;
  }

  /** The meta-learned θ₀ the evaluator decays toward (owned by it). */
  initialParams(): ParamMap {
    this.assertLive();
    return this.initial;
  }

  /**
   * Scores the next segment of the current file (class ids) with θ, then
   * adapts θ to it (one step, see the module note). The first token of a
   * segment is predicted from the last token of the previous one.
   */
  observe(segmentIds: ArrayLike<number>): SegmentScore {
    this.assertLive();
    const batch = this.segmentBatch(segmentIds);
    if (segmentIds.length > 0) this.lastToken = segmentIds[segmentIds.length - 1];
    if (batch === undefined) return { loss: 0, tokens: 0 };
    const predicted = batch.timeSteps;
    const measured = batchLossAndGrads(this.params, batch, this.state, lstmBatchLoss);
    const loss = measured.loss.dataSync()[0];
    measured.loss.dispose();
    this.dropState();
    this.state = measured.state;
    this.step(measured.grads);
    disposeMap(measured.grads);
    return { loss, tokens: predicted };
  }

  /**
   * The class distribution of every token of the next segment under θ now,
   * without adapting or moving the state: row r (`K + 1` wide) predicts
   * `segmentIds[r]`. The first token of a file has no context and gets no
   * row. Call it before {@link observe} with the same segment to score it.
   *
   * @returns Float32 `[rows, vocab]`, row-major.
   */
  predict(segmentIds: ArrayLike<number>): { rows: number; probabilities: Float32Array } {
    this.assertLive();
    const batch = this.segmentBatch(segmentIds);
    if (batch === undefined) return { rows: 0, probabilities: new Float32Array(0) };
    const predicted = batch.timeSteps;
    const probabilities = tf.tidy(() => {
      const out = forward(unflattenParams(this.params), batch, this.state);
      return tf.softmax(out.logits);
    });
    const values = probabilities.dataSync() as Float32Array;
    probabilities.dispose();
    return { rows: predicted, probabilities: values };
  }

  /** Back to θ₀ for a new file: drops the adaptation, the LSTM state and the online MS. */
  reset(): void {
    this.assertLive();
    disposeMap(this.params);
    this.params = cloneParams(this.initial);
    disposeMap(this.runningMeanSquares);
    this.runningMeanSquares = undefined;
    this.dropState();
    this.lastToken = undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    disposeMap(this.params);
    disposeMap(this.initial);
    disposeMap(this.fixedMeanSquares);
    disposeMap(this.runningMeanSquares);
    this.dropState();
    this.disposed = true;
  }

  private step(grads: ParamMap): void {
    let meanSquares = this.fixedMeanSquares;
    if (meanSquares === undefined) {
      const previous = this.runningMeanSquares;
      const rho = this.meanSquaresDecay;
      // The first segment seeds the running mean with its own g².
      this.runningMeanSquares = mapParams(grads, (name, g) =>
        previous ? tf.add(tf.mul(entryOf(previous, name), rho), tf.mul(tf.square(g), 1 - rho)) : tf.square(g),
      );
      disposeMap(previous);
      meanSquares = this.runningMeanSquares;
    }
    const { lr, decay } = this.options;
    const squares = meanSquares;
    const next = mapParams(this.params, (name, theta) => {
      const g = entryOf(grads, name);
      const stepped = tf.sub(theta, tf.div(tf.mul(g, lr), tf.add(tf.sqrt(entryOf(squares, name)), this.epsilon)));
      const start = entryOf(this.initial, name);
      // θ₀ + (1 − λ)(θ − θ₀) rather than θ + λ(θ₀ − θ): exact θ₀ at λ = 1 in float32.
      return tf.add(start, tf.mul(tf.sub(stepped, start), 1 - decay));
    });
    disposeMap(this.params);
    this.params = next;
  }

  /** One lane predicting each token of the segment from the one before (the last token seen first); undefined when nothing is predicted. */
  private segmentBatch(segmentIds: ArrayLike<number>): LmBatch | undefined {
    const tokens = this.lastToken === undefined ? Array.from(segmentIds) : [this.lastToken, ...Array.from(segmentIds)];
    const predicted = tokens.length - 1;
    if (predicted < 1) return undefined;
    return {
      batchSize: 1,
      timeSteps: predicted,
      inputs: Int32Array.from(tokens.slice(0, predicted)),
      targets: Int32Array.from(tokens.slice(1)),
      mask: new Float32Array(predicted).fill(1),
    };
  }

  private dropState(): void {
    if (this.state) tf.dispose([...this.state.h, ...this.state.c]);
    this.state = undefined;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('This DynamicEvaluator was disposed; create a new one.');
  }
}
