import { UNK_CLASS } from '../neural/batches';
import type { TokenDistribution } from '../ngram/tokenModel';
import type { Vocabulary } from '../text/vocabulary';

/**
 * Which token each LSTM class stands for, both ways. Built once per class map
 * (see `topKClasses`), not per position.
 */
export interface ClassMap {
  /** `classOfToken[id]`: class of a token id, `UNK_CLASS` when outside the LSTM's vocabulary. */
  readonly classOfToken: Int32Array;
  /** `tokenOfClass[c]`: token id of class c ≥ 1; entry `UNK_CLASS` holds -1. Length K + 1. */
  readonly tokenOfClass: Int32Array;
}

/** Inverts a class map from `topKClasses` (classes 1..K, 0 for `<unk>`). */
export function classMapOf(classOfToken: Int32Array): ClassMap {
  let classes = 0;
  for (let id = 0; id < classOfToken.length; id++) classes = Math.max(classes, classOfToken[id]);
  const tokenOfClass = new Int32Array(classes + 1).fill(-1);
  for (let id = 0; id < classOfToken.length; id++) {
    const modelClass = classOfToken[id];
    if (modelClass === UNK_CLASS) continue;
    if (tokenOfClass[modelClass] !== -1) throw new Error(`Class ${modelClass} is given to two tokens; rebuild the class map.`);
    tokenOfClass[modelClass] = id;
  }
  return { classOfToken, tokenOfClass };
}

/** What the LSTM's class distribution says about itself: features for the meta-level gate. */
export interface NeuralSummary {
  /** Largest class probability, `<unk>` included. */
  readonly maxProbability: number;
  /** p(`<unk>`): how much the LSTM hands over to the n-gram. */
  readonly unknownProbability: number;
  /** Entropy of the class distribution, in nats. */
  readonly entropy: number;
}

/** Below this, the n-gram's out-of-class mass is too small to divide by without amplifying rounding. */
const DEGENERATE_MASS = 1e-9;

/**
 * The LSTM's distribution over every token id plus the escape slot. A token
 * the LSTM has a class for gets that class's probability; every other token
 * (and escape) shares p(`<unk>`) in proportion to the n-gram's probability,
 * renormalised over the out-of-class tokens:
 *
 *   p(t) = p_nn(class t)                                   if t has a class
 *   p(t) = p_nn(<unk>) · p_ng(t) / (1 − Σ_c p_ng(token c))  otherwise
 *
 * When the n-gram puts (almost) all its mass on in-class tokens, the share is
 * uniform over out-of-class ids plus escape instead, so nothing gets 0 or NaN.
 * The class probabilities are divided by their float64 sum: a float32 softmax
 * over thousands of classes can be off 1 by more than the 1e-6 we promise.
 * Context statistics (confidence, order, counts) are the n-gram's: the LSTM
 * has none of its own.
 */
export class UnkHandOver implements TokenDistribution {
  readonly vocabularySize: number;
  readonly escapeProbability: number;
  readonly summary: NeuralSummary;
  private readonly classNormaliser: number;
  /** p_nn(<unk>) / the n-gram's out-of-class mass (unused when degenerate). */
  private readonly outOfClassScale: number;
  /** Set when the n-gram leaves no mass out of class: then each out-of-class id and escape get `uniformShare`. */
  private readonly degenerate: boolean;
  private readonly uniformShare: number;

  /**
   * @param classProbabilities Float32 `[K + 1]` softmax of the LSTM at this position, index `UNK_CLASS` = `<unk>`.
   * @param ngram The n-gram's distribution at the same context.
   */
  constructor(
    readonly classProbabilities: Float32Array,
    readonly ngram: TokenDistribution,
    readonly classes: ClassMap,
    private readonly vocabulary: Pick<Vocabulary, 'tokenOf'>,
    /**
     * Σ_c p_ng(token c) over the classes, when the caller has it already
     * ({@link inClassNgramMass}): it depends on the n-gram position only, so
     * several neural models scored at one position share it.
     */
    knownInClassNgramMass?: number,
  ) {
    const classCount = classes.tokenOfClass.length;
    if (classProbabilities.length !== classCount) {
      throw new Error(
        `The LSTM gave ${classProbabilities.length} class probabilities but the class map has ${classCount}; use the class map the model was trained with.`,
      );
    }
    this.vocabularySize = ngram.vocabularySize;
    let total = 0;
    let maxProbability = 0;
    let inClassNgramMass = 0;
    let inClassTokens = 0;
    for (let c = 0; c < classCount; c++) {
      const probability = classProbabilities[c];
      if (!(probability >= 0)) throw new Error(`Class ${c} has probability ${probability}; the LSTM output is not a distribution.`);
      total += probability;
      if (c === UNK_CLASS) continue;
      const token = classes.tokenOfClass[c];
      if (token < 0 || token >= this.vocabularySize) {
        throw new Error(`Class ${c} stands for token ${token}, outside the n-gram's vocabulary of ${this.vocabularySize}.`);
      }
      if (knownInClassNgramMass === undefined) inClassNgramMass += ngram.probability(token);
      inClassTokens++;
    }
    if (knownInClassNgramMass !== undefined) inClassNgramMass = knownInClassNgramMass;
    if (!(total > 0)) throw new Error('The LSTM class probabilities sum to 0; check the softmax.');
    this.classNormaliser = total;
    const unknown = classProbabilities[UNK_CLASS] / total;
    let entropy = 0;
    for (let c = 0; c < classCount; c++) {
      const probability = classProbabilities[c] / total;
      maxProbability = Math.max(maxProbability, probability);
      if (probability > 0) entropy -= probability * Math.log(probability);
    }
    this.summary = { maxProbability, unknownProbability: unknown, entropy };

    const outOfClassMass = 1 - inClassNgramMass;
    this.degenerate = !(outOfClassMass > DEGENERATE_MASS);
    if (!this.degenerate) {
      this.outOfClassScale = unknown / outOfClassMass;
      this.uniformShare = 0;
      this.escapeProbability = this.outOfClassScale * ngram.escapeProbability;
    } else {
      this.outOfClassScale = 0;
      // Out-of-class vocabulary ids plus the escape slot.
      this.uniformShare = unknown / (this.vocabularySize - inClassTokens + 1);
      this.escapeProbability = this.uniformShare;
    }
  }

  get confidence(): number {
    return this.ngram.confidence;
  }
  get matchedOrder(): number {
    return this.ngram.matchedOrder;
  }
  get contextCount(): number {
    return this.ngram.contextCount;
  }
  get contextDistinct(): number {
    return this.ngram.contextDistinct;
  }

  probability(token: number): number {
    if (token < 0 || token >= this.vocabularySize) return this.escapeProbability;
    const modelClass = token < this.classes.classOfToken.length ? this.classes.classOfToken[token] : UNK_CLASS;
    if (modelClass !== UNK_CLASS) return this.classProbabilities[modelClass] / this.classNormaliser;
    if (this.degenerate) return this.uniformShare;
    return this.outOfClassScale * this.ngram.probability(token);
  }

  /**
   * The `limit` most probable classes whose token starts with `typedPrefix`,
   * then the n-gram's own candidates (which cover the out-of-class tokens).
   */
  collectCandidates(typedPrefix: string, limit: number, into: Set<number>): void {
    if (limit <= 0) return;
    const best: number[] = [];
    const tokenOfClass = this.classes.tokenOfClass;
    for (let c = 0; c < tokenOfClass.length; c++) {
      if (c === UNK_CLASS) continue;
      const probability = this.classProbabilities[c];
      if (best.length === limit && probability <= this.classProbabilities[best[limit - 1]]) continue;
      if (typedPrefix !== '' && !this.vocabulary.tokenOf(tokenOfClass[c]).startsWith(typedPrefix)) continue;
      // Insertion into a short sorted list: limit is a few dozen, K is thousands.
      let at = best.length;
      while (at > 0 && this.classProbabilities[best[at - 1]] < probability) at--;
      best.splice(at, 0, c);
      if (best.length > limit) best.pop();
    }
    for (const c of best) into.add(tokenOfClass[c]);
    this.ngram.collectCandidates(typedPrefix, limit, into);
  }
}

/** Σ_c p_ng(token c): the n-gram's mass on tokens the LSTM has a class for, at one position. */
export function inClassNgramMass(ngram: TokenDistribution, classes: ClassMap): number {
  let mass = 0;
  const tokenOfClass = classes.tokenOfClass;
  for (let c = 0; c < tokenOfClass.length; c++) if (c !== UNK_CLASS) mass += ngram.probability(tokenOfClass[c]);
  return mass;
}
