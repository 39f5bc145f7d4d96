import type { TokenDistribution } from './tokenModel';

/**
 * A weighted sum of distributions over the same vocabulary. With weights that
 * sum to 1 it is normalised too, escape slot included.
 */
export class MixtureDistribution implements TokenDistribution {
  readonly vocabularySize: number;
  readonly escapeProbability: number;
  readonly confidence: number;
  readonly matchedOrder: number;
  readonly contextCount: number;
  readonly contextDistinct: number;

  constructor(
    readonly components: readonly TokenDistribution[],
    readonly weights: Float64Array,
    /** What each component is (see LevelKind), for inspection and fitting. */
    readonly kinds: readonly LevelKind[] = [],
    readonly contextClass = 0,
  ) {
    if (components.length === 0) throw new Error('A mixture needs at least one distribution.');
    this.vocabularySize = components[0].vocabularySize;
    let escape = 0;
    let confidence = 0;
    let matchedOrder = 0;
    let contextCount = 0;
    let contextDistinct = 0;
    for (let i = 0; i < components.length; i++) {
      const component = components[i];
      if (component.vocabularySize !== this.vocabularySize) {
        throw new Error('Mixed distributions must be normalised over the same vocabulary.');
      }
      escape += weights[i] * component.escapeProbability;
      confidence = Math.max(confidence, component.confidence);
      if (component.matchedOrder > matchedOrder) {
        matchedOrder = component.matchedOrder;
        contextCount = component.contextCount;
        contextDistinct = component.contextDistinct;
      }
    }
    this.escapeProbability = escape;
    this.confidence = confidence;
    this.matchedOrder = matchedOrder;
    this.contextCount = contextCount;
    this.contextDistinct = contextDistinct;
  }

  probability(token: number): number {
    let probability = 0;
    for (let i = 0; i < this.components.length; i++) {
      const weight = this.weights[i];
      if (weight > 0) probability += weight * this.components[i].probability(token);
    }
    return probability;
  }

  collectCandidates(typedPrefix: string, limit: number, into: Set<number>): void {
    for (let i = 0; i < this.components.length; i++) {
      if (this.weights[i] > 0) this.components[i].collectCandidates(typedPrefix, limit, into);
    }
  }
}

/**
 * SLP-Core's mixing, as a flat weight vector: fold from the least local
 * distribution (last) to the most local (first); each step weighs the two
 * sides by 1/(1 - confidence), capped at 1000, and the folded side keeps the
 * larger confidence. A distribution with zero confidence (an empty model) gets
 * no weight.
 */
export function inverseConfidenceWeights(components: readonly TokenDistribution[]): Float64Array {
  const count = components.length;
  const weights = new Float64Array(count);
  let foldedConfidence = 0;
  for (let i = count - 1; i >= 0; i--) {
    const confidence = components[i].confidence;
    if (confidence <= 0) continue;
    if (foldedConfidence <= 0) {
      weights.fill(0);
      weights[i] = 1;
      foldedConfidence = confidence;
      continue;
    }
    const foldedWeight = Math.min(1 / (1 - foldedConfidence), 1000);
    const newWeight = Math.min(1 / (1 - confidence), 1000);
    const share = newWeight / (foldedWeight + newWeight);
    for (let j = i + 1; j < count; j++) weights[j] *= 1 - share;
    weights[i] = share;
    foldedConfidence = Math.max(foldedConfidence, confidence);
  }
  if (foldedConfidence <= 0) weights[count - 1] = 1;
  return weights;
}

/** Where a mixed distribution comes from: `cache`, `project`, or a locality level's kind. */
export type LevelKind = string;

/** Turns the distributions of the levels at one context into mixture weights that sum to 1. */
export interface MixingPolicy {
  /** `contextClass`: what the last context token is (see `contextClassOf`). */
  weigh(components: readonly TokenDistribution[], kinds: readonly LevelKind[], contextClass: number): Float64Array;
}

/** Number of classes `contextClassOf` returns. */
export const CONTEXT_CLASSES = 7;

/**
 * A coarse class of the token before the cursor: file start, member access,
 * identifier, opening bracket or comma, closing bracket or semicolon, literal,
 * other operator. Which level knows best depends on it (after `.` the file's
 * own names matter most).
 */
export function contextClassOf(previousToken: string | undefined): number {
  if (previousToken === undefined) return 0;
  if (previousToken === '.' || previousToken === '?.') return 1;
  const first = previousToken.charCodeAt(0);
  if ((first >= 65 && first <= 90) || (first >= 97 && first <= 122) || first === 95 || first === 36) return 2;
  if (previousToken === '(' || previousToken === '[' || previousToken === '{' || previousToken === ',') return 3;
  if (previousToken === ')' || previousToken === ']' || previousToken === '}' || previousToken === ';') return 4;
  if ((first >= 48 && first <= 57) || first === 39 || first === 34 || first === 96) return 5;
  return 6;
}

/** SLP-Core's confidence-based mixing. */
export const inverseConfidenceMixing: MixingPolicy = {
  weigh: (components) => inverseConfidenceWeights(components),
};
