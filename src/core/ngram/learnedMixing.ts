import { CONTEXT_CLASSES } from './mixture';
import type { LevelKind, MixingPolicy } from './mixture';
import type { TokenDistribution } from './tokenModel';

/**
 * Weights of a learned, per-context mixture. Each level kind has a score
 * `bias[matchedOrder] + w · (log(1+n), log(1+u), u/n) + bias[context class]`
 * from what the level knows about the context (matched order, count n of that
 * context, number u of distinct successors) and the kind of token before the
 * cursor; the weights are the softmax of the scores of the levels that know
 * anything.
 */
export interface MixingParameters {
  order: number;
  /** Per kind: `order` biases (matched order 1..order), three feature weights, CONTEXT_CLASSES biases. */
  kinds: Record<string, number[]>;
}

const EXTRA_FEATURES = 3 + CONTEXT_CLASSES;
/** Kinds without parameters of their own borrow these. */
const FALLBACK_KIND = 'locality';

function featureCount(order: number): number {
  return order + EXTRA_FEATURES;
}

/** Writes the features of one distribution into `into` (laid out as MixingParameters' vectors). */
function writeFeatures(distribution: TokenDistribution, contextClass: number, order: number, into: Float64Array): void {
  into.fill(0);
  into[Math.min(distribution.matchedOrder, order) - 1] = 1;
  const count = distribution.contextCount;
  const distinct = distribution.contextDistinct;
  into[order] = Math.log1p(count);
  into[order + 1] = Math.log1p(distinct);
  into[order + 2] = count > 0 ? distinct / count : 1;
  into[order + 3 + contextClass] = 1;
}

export class LearnedMixing implements MixingPolicy {
  private readonly features: Float64Array;

  constructor(readonly parameters: MixingParameters) {
    this.features = new Float64Array(featureCount(parameters.order));
  }

  weigh(components: readonly TokenDistribution[], kinds: readonly LevelKind[], contextClass: number): Float64Array {
    const order = this.parameters.order;
    const scores = new Float64Array(components.length);
    let best = -Infinity;
    for (let i = 0; i < components.length; i++) {
      if (components[i].matchedOrder <= 0) {
        scores[i] = -Infinity;
        continue;
      }
      const theta = this.parameters.kinds[kinds[i]] ?? this.parameters.kinds[FALLBACK_KIND];
      let score = 0;
      if (theta !== undefined) {
        writeFeatures(components[i], contextClass, order, this.features);
        const width = Math.min(theta.length, this.features.length);
        for (let f = 0; f < width; f++) score += theta[f] * this.features[f];
      }
      scores[i] = score;
      if (score > best) best = score;
    }
    const weights = new Float64Array(components.length);
    if (best === -Infinity) {
      weights[components.length - 1] = 1;
      return weights;
    }
    let total = 0;
    for (let i = 0; i < components.length; i++) {
      weights[i] = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - best);
      total += weights[i];
    }
    for (let i = 0; i < components.length; i++) weights[i] /= total;
    return weights;
  }
}

/** What one level knew at one position: enough to rebuild its features. */
const RECORD_WIDTH = 6;

/**
 * Positions recorded for fitting: per position, each level's kind, what it
 * knew of the context, and its probability of the true token. Kept compact
 * (six numbers per level) since fitting records tens of thousands of
 * positions. Record on TRAIN files only.
 */
export class MixingSamples {
  readonly kinds: string[] = [];
  private readonly kindIds = new Map<string, number>();
  private positionStarts = new Int32Array(1024);
  private positions = 0;
  /** Per level: kind, matched order, context class, count, distinct successors, p(true token). */
  private records = new Float64Array(1024 * RECORD_WIDTH);
  private recordCount = 0;

  constructor(readonly order: number) {}

  get size(): number {
    return this.positions;
  }

  record(
    components: readonly TokenDistribution[],
    kinds: readonly LevelKind[],
    contextClass: number,
    trueToken: number,
  ): void {
    for (let i = 0; i < components.length; i++) {
      const component = components[i];
      if (component.matchedOrder <= 0) continue;
      let kindId = this.kindIds.get(kinds[i]);
      if (kindId === undefined) {
        kindId = this.kinds.length;
        this.kinds.push(kinds[i]);
        this.kindIds.set(kinds[i], kindId);
      }
      if ((this.recordCount + 1) * RECORD_WIDTH > this.records.length) {
        const bigger = new Float64Array(this.records.length * 2);
        bigger.set(this.records);
        this.records = bigger;
      }
      const base = this.recordCount * RECORD_WIDTH;
      this.records[base] = kindId;
      this.records[base + 1] = component.matchedOrder;
      this.records[base + 2] = contextClass;
      this.records[base + 3] = component.contextCount;
      this.records[base + 4] = component.contextDistinct;
      this.records[base + 5] = component.probability(trueToken);
      this.recordCount++;
    }
    if (this.positions + 2 > this.positionStarts.length) {
      const bigger = new Int32Array(this.positionStarts.length * 2);
      bigger.set(this.positionStarts);
      this.positionStarts = bigger;
    }
    this.positions++;
    this.positionStarts[this.positions] = this.recordCount;
  }

  /** @internal */ data(): { starts: Int32Array; records: Float64Array } {
    return { starts: this.positionStarts, records: this.records };
  }
}

export interface FitOptions {
  iterations?: number;
  learningRate?: number;
  /** L2 penalty per parameter, keeps rare kinds near neutral. */
  regularization?: number;
  /** Starting point, e.g. the defaults. */
  initial?: MixingParameters;
}

/**
 * Maximum-likelihood mixing weights (Adam on the mean log-probability of the
 * true tokens). The gradient of log Σ π_l p_l by a level's score is its
 * posterior share minus its prior share, r_l - π_l.
 */
export function fitMixing(samples: MixingSamples, options: FitOptions = {}): MixingParameters {
  const order = samples.order;
  const width = featureCount(order);
  const kindCount = samples.kinds.length;
  const { starts, records } = samples.data();
  const positions = samples.size;
  const theta = new Float64Array(kindCount * width);
  if (options.initial !== undefined) {
    samples.kinds.forEach((kind, k) => {
      const initial = options.initial?.kinds[kind] ?? options.initial?.kinds[FALLBACK_KIND];
      if (initial !== undefined) theta.set(initial.slice(0, width), k * width);
    });
  }
  // Each level's features, sparse: two one-hot indexes (matched order, context class) and three dense values.
  const recordCount = starts[positions];
  const orderIndex = new Int32Array(recordCount);
  const classIndex = new Int32Array(recordCount);
  const dense = new Float64Array(recordCount * 3);
  const probabilities = new Float64Array(recordCount);
  const kindOf = new Int32Array(recordCount);
  for (let c = 0; c < recordCount; c++) {
    const base = c * RECORD_WIDTH;
    kindOf[c] = records[base];
    orderIndex[c] = Math.min(records[base + 1], order) - 1;
    classIndex[c] = order + 3 + records[base + 2];
    const count = records[base + 3];
    const distinct = records[base + 4];
    dense[c * 3] = Math.log1p(count);
    dense[c * 3 + 1] = Math.log1p(distinct);
    dense[c * 3 + 2] = count > 0 ? distinct / count : 1;
    probabilities[c] = records[base + 5];
  }
  const iterations = options.iterations ?? 300;
  const learningRate = options.learningRate ?? 0.05;
  const regularization = options.regularization ?? 1e-4;
  const gradient = new Float64Array(theta.length);
  const firstMoment = new Float64Array(theta.length);
  const secondMoment = new Float64Array(theta.length);
  const scores = new Float64Array(64);
  for (let step = 1; step <= iterations; step++) {
    gradient.fill(0);
    for (let t = 0; t < positions; t++) {
      const from = starts[t];
      const to = starts[t + 1];
      if (to === from) continue;
      let best = -Infinity;
      for (let c = from; c < to; c++) {
        const base = kindOf[c] * width;
        const score =
          theta[base + orderIndex[c]] +
          theta[base + classIndex[c]] +
          theta[base + order] * dense[c * 3] +
          theta[base + order + 1] * dense[c * 3 + 1] +
          theta[base + order + 2] * dense[c * 3 + 2];
        scores[c - from] = score;
        if (score > best) best = score;
      }
      let priorTotal = 0;
      let mixed = 0;
      for (let c = from; c < to; c++) {
        const prior = Math.exp(scores[c - from] - best);
        scores[c - from] = prior;
        priorTotal += prior;
        mixed += prior * probabilities[c];
      }
      for (let c = from; c < to; c++) {
        const prior = scores[c - from] / priorTotal;
        const posterior = (scores[c - from] * probabilities[c]) / mixed;
        const delta = (posterior - prior) / positions;
        const base = kindOf[c] * width;
        gradient[base + orderIndex[c]] += delta;
        gradient[base + classIndex[c]] += delta;
        gradient[base + order] += delta * dense[c * 3];
        gradient[base + order + 1] += delta * dense[c * 3 + 1];
        gradient[base + order + 2] += delta * dense[c * 3 + 2];
      }
    }
    for (let i = 0; i < theta.length; i++) {
      const g = gradient[i] - regularization * theta[i];
      firstMoment[i] = 0.9 * firstMoment[i] + 0.1 * g;
      secondMoment[i] = 0.999 * secondMoment[i] + 0.001 * g * g;
      const corrected = firstMoment[i] / (1 - Math.pow(0.9, step));
      const scale = Math.sqrt(secondMoment[i] / (1 - Math.pow(0.999, step))) + 1e-8;
      theta[i] += (learningRate * corrected) / scale;
    }
  }
  const result: MixingParameters = { order, kinds: {} };
  samples.kinds.forEach((kind, k) => {
    const values = theta.subarray(k * width, (k + 1) * width);
    result.kinds[kind] = Array.from(values, (value) => Math.round(value * 1e4) / 1e4);
  });
  return result;
}
