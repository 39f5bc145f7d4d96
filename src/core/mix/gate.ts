import { MixtureDistribution } from '../ngram/mixture';
import type { TokenDistribution } from '../ngram/tokenModel';
import type { NeuralSummary } from './unkHandOver';

/**
 * The meta level: per position, a logistic gate decides how far to trust the
 * neural model over the n-gram, p(t) = g·p_neural(t) + (1 − g)·p_ngram(t),
 * g = σ(w · features + b). The features say how much each model knows here.
 */

/** Names of the gate's features, in the order of `gateFeatures`' vector. */
export const GATE_FEATURES = [
  'ngramConfidence',
  'ngramLogContextCount',
  'ngramLogContextDistinct',
  'ngramMatchedOrderShare',
  'ngramEscape',
  'neuralMaxProbability',
  'neuralUnknownProbability',
  'neuralEntropy',
] as const;
export const GATE_FEATURE_COUNT = GATE_FEATURES.length;

/** Features are clamped to this magnitude so that a dot product with finite weights stays finite. */
const FEATURE_LIMIT = 1e6;

function finiteFeature(value: number): number {
  if (Number.isNaN(value)) return 0;
  return Math.max(-FEATURE_LIMIT, Math.min(FEATURE_LIMIT, value));
}

/**
 * The gate's input at one position: `[GATE_FEATURE_COUNT]`, see `GATE_FEATURES`.
 * @param order The n-gram's order, to put the matched order on a 0..1 scale.
 */
export function gateFeatures(
  ngram: TokenDistribution,
  neural: NeuralSummary,
  order: number,
  into = new Float64Array(GATE_FEATURE_COUNT),
): Float64Array {
  into[0] = ngram.confidence;
  into[1] = Math.log1p(Math.max(ngram.contextCount, 0));
  into[2] = Math.log1p(Math.max(ngram.contextDistinct, 0));
  into[3] = ngram.matchedOrder / Math.max(order, 1);
  into[4] = ngram.escapeProbability;
  into[5] = neural.maxProbability;
  into[6] = neural.unknownProbability;
  into[7] = neural.entropy;
  for (let f = 0; f < GATE_FEATURE_COUNT; f++) into[f] = finiteFeature(into[f]);
  return into;
}

/** A fitted gate, on raw (unstandardised) features. */
export interface GateParameters {
  /** The n-gram order the matched-order feature was scaled by. */
  order: number;
  /** `[GATE_FEATURE_COUNT]` */
  weights: number[];
  bias: number;
}

/** σ(z) without overflow at either end. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** The two-way mixture at one position; `gate` is the neural model's weight. */
export class GateMixture extends MixtureDistribution {
  constructor(
    readonly neural: TokenDistribution,
    readonly ngram: TokenDistribution,
    readonly gate: number,
  ) {
    super([neural, ngram], Float64Array.of(gate, 1 - gate), ['neural', 'ngram']);
  }
}

export class LogisticGate {
  private readonly features = new Float64Array(GATE_FEATURE_COUNT);

  constructor(readonly parameters: GateParameters) {
    const { weights, bias } = parameters;
    if (weights.length !== GATE_FEATURE_COUNT || !weights.every(Number.isFinite) || !Number.isFinite(bias)) {
      throw new Error(`Gate parameters need ${GATE_FEATURE_COUNT} finite weights and a finite bias; refit the gate.`);
    }
  }

  /** g in [0, 1] for a feature vector from `gateFeatures`. */
  gateOf(features: ArrayLike<number>): number {
    const { weights, bias } = this.parameters;
    let z = bias;
    for (let f = 0; f < GATE_FEATURE_COUNT; f++) z += weights[f] * finiteFeature(features[f]);
    return sigmoid(z);
  }

  /** The mixed distribution at one position. */
  mix(neural: TokenDistribution, ngram: TokenDistribution, summary: NeuralSummary): GateMixture {
    const gate = this.gateOf(gateFeatures(ngram, summary, this.parameters.order, this.features));
    return new GateMixture(neural, ngram, gate);
  }
}

/** One held-out position: what the gate sees and what each model gave the true token. */
export interface GateSample {
  /** `[GATE_FEATURE_COUNT]` from `gateFeatures`. */
  features: Float64Array;
  neuralProbability: number;
  ngramProbability: number;
}

/** Records a position for fitting; use held-out TRAIN positions, never TEST ones. */
export function gateSample(
  neural: TokenDistribution,
  ngram: TokenDistribution,
  summary: NeuralSummary,
  order: number,
  trueToken: number,
): GateSample {
  return {
    features: gateFeatures(ngram, summary, order),
    neuralProbability: neural.probability(trueToken),
    ngramProbability: ngram.probability(trueToken),
  };
}

export interface GateFitOptions {
  /** The n-gram order the samples' features were scaled by. */
  order: number;
  iterations?: number;
  learningRate?: number;
  /** L2 penalty on the standardised weights (not the bias): keeps unhelpful features near 0. */
  regularization?: number;
}

/** Probabilities are floored here so a model that gave the true token 0 costs a large but finite loss. */
const PROBABILITY_FLOOR = 1e-12;

/** Mean −log of the mixture's probability of the true tokens under a gate (nats). */
export function gateLogLoss(samples: readonly GateSample[], gateOf: (sample: GateSample) => number): number {
  let loss = 0;
  for (const sample of samples) {
    const g = gateOf(sample);
    const mixed = g * sample.neuralProbability + (1 - g) * sample.ngramProbability;
    loss -= Math.log(Math.max(mixed, PROBABILITY_FLOOR));
  }
  return samples.length === 0 ? 0 : loss / samples.length;
}

/**
 * Maximum-likelihood gate: full-batch Adam on the mean log-loss of the
 * mixture, from w = 0, b = 0 (g = ½), so fitting is deterministic. Features
 * are standardised while fitting (counts and probabilities differ in scale by
 * orders of magnitude) and the result is folded back onto raw features.
 * With z = w·x + b and m = g·a + (1 − g)·c, ∂(−log m)/∂z = −(a − c)·g(1 − g)/m.
 */
export function fitGate(samples: readonly GateSample[], options: GateFitOptions): GateParameters {
  const count = samples.length;
  const width = GATE_FEATURE_COUNT;
  if (count === 0) return { order: options.order, weights: new Array<number>(width).fill(0), bias: 0 };
  const iterations = options.iterations ?? 500;
  const learningRate = options.learningRate ?? 0.05;
  const regularization = options.regularization ?? 1e-4;

  const mean = new Float64Array(width);
  const scale = new Float64Array(width);
  for (const sample of samples) for (let f = 0; f < width; f++) mean[f] += finiteFeature(sample.features[f]) / count;
  for (const sample of samples) {
    for (let f = 0; f < width; f++) scale[f] += (finiteFeature(sample.features[f]) - mean[f]) ** 2 / count;
  }
  // A constant feature carries nothing: scale 1 keeps its standardised value at 0.
  for (let f = 0; f < width; f++) scale[f] = scale[f] > 1e-12 ? Math.sqrt(scale[f]) : 1;
  const standardised = new Float64Array(count * width);
  const neural = new Float64Array(count);
  const ngram = new Float64Array(count);
  samples.forEach((sample, i) => {
    for (let f = 0; f < width; f++) standardised[i * width + f] = (finiteFeature(sample.features[f]) - mean[f]) / scale[f];
    neural[i] = Math.max(sample.neuralProbability, PROBABILITY_FLOOR);
    ngram[i] = Math.max(sample.ngramProbability, PROBABILITY_FLOOR);
  });

  // theta = [w_0 .. w_{width-1}, b]
  const theta = new Float64Array(width + 1);
  const gradient = new Float64Array(width + 1);
  const firstMoment = new Float64Array(width + 1);
  const secondMoment = new Float64Array(width + 1);
  for (let step = 1; step <= iterations; step++) {
    gradient.fill(0);
    for (let i = 0; i < count; i++) {
      let z = theta[width];
      for (let f = 0; f < width; f++) z += theta[f] * standardised[i * width + f];
      const g = sigmoid(z);
      const mixed = g * neural[i] + (1 - g) * ngram[i];
      const delta = (-(neural[i] - ngram[i]) * g * (1 - g)) / mixed / count;
      for (let f = 0; f < width; f++) gradient[f] += delta * standardised[i * width + f];
      gradient[width] += delta;
    }
    for (let f = 0; f < width; f++) gradient[f] += regularization * theta[f];
    for (let j = 0; j <= width; j++) {
      firstMoment[j] = 0.9 * firstMoment[j] + 0.1 * gradient[j];
      secondMoment[j] = 0.999 * secondMoment[j] + 0.001 * gradient[j] * gradient[j];
      const corrected = firstMoment[j] / (1 - Math.pow(0.9, step));
      const spread = Math.sqrt(secondMoment[j] / (1 - Math.pow(0.999, step))) + 1e-8;
      theta[j] -= (learningRate * corrected) / spread;
    }
  }
  // w·(x − μ)/s + b = (w/s)·x + (b − Σ w·μ/s)
  const weights = new Array<number>(width);
  let bias = theta[width];
  for (let f = 0; f < width; f++) {
    weights[f] = theta[f] / scale[f];
    bias -= weights[f] * mean[f];
  }
  return { order: options.order, weights, bias };
}
