import type { Vocabulary } from '../text/vocabulary';

/**
 * Tokens are vocabulary ids. A context is the current file's tokens before the
 * position, from the start of the file: models read only its last `order - 1`
 * ids, and a shorter context means the file starts there.
 */
export type TokenContext = ArrayLike<number>;

/** A completion candidate. */
export interface Prediction {
  token: string;
  id: number;
  probability: number;
}

/**
 * A model's next-token distribution at one context, normalised over the
 * vocabulary (every id below `vocabularySize`) plus one escape slot for tokens
 * never seen: Σ probability(id) + escapeProbability = 1.
 */
export interface TokenDistribution {
  /** Ids the distribution is normalised over: 0 .. vocabularySize-1. */
  readonly vocabularySize: number;
  /**
   * p(token | context). An id at or beyond `vocabularySize`, or -1 for a token
   * not in the vocabulary, gets the escape slot's probability: exactly what
   * SLP-Core gives a token new to its vocabulary (its uniform share).
   */
  probability(token: number): number;
  readonly escapeProbability: number;
  /** How much the model knows about this context, in [0, 1): the basis for mixing models. */
  readonly confidence: number;
  /** 1 + length of the longest context seen in training (0 for an empty model). */
  readonly matchedOrder: number;
  /** Occurrences of that longest context, and how many distinct tokens followed it. */
  readonly contextCount: number;
  readonly contextDistinct: number;
  /**
   * Adds up to `limit` likely next tokens that start with `typedPrefix` to
   * `into`, from the most specific context down (ids already there count
   * towards the limit). Candidates are scored afterwards: this is how
   * prediction avoids scoring the whole vocabulary.
   */
  collectCandidates(typedPrefix: string, limit: number, into: Set<number>): void;
}

/** A count-based next-token model with SLP-Core's learn/forget life cycle. */
export interface TokenModel {
  readonly vocabulary: Vocabulary;
  /** Counts a file's tokens; learning a known file id again replaces its counts. */
  learn(fileId: string, tokens: ArrayLike<number>): void;
  /** Removes a file's counts exactly; an unknown id is a no-op. */
  forget(fileId: string): void;
  distribution(context: TokenContext): TokenDistribution;
  probability(context: TokenContext, token: number): number;
  /** The k most likely next tokens that start with `typedPrefix`, most likely first. */
  predict(context: TokenContext, typedPrefix: string, k: number): Prediction[];
  confidence(context: TokenContext): number;
}

/**
 * What every count-based model shares, as SLP-Core's models share it in their
 * base: a model supplies its distribution at a context, and probability,
 * prediction and confidence are read off that distribution here, once.
 */
export abstract class DistributionModel<D extends TokenDistribution = TokenDistribution> implements TokenModel {
  constructor(readonly vocabulary: Vocabulary) {}

  abstract learn(fileId: string, tokens: ArrayLike<number>): void;
  abstract forget(fileId: string): void;
  abstract distribution(context: TokenContext): D;

  probability(context: TokenContext, token: number): number {
    return this.distribution(context).probability(token);
  }

  predict(context: TokenContext, typedPrefix: string, k: number): Prediction[] {
    return predictFrom(this.distribution(context), this.vocabulary, typedPrefix, k);
  }

  confidence(context: TokenContext): number {
    return this.distribution(context).confidence;
  }
}

/** How many candidates each model contributes before the best k are picked. */
export const CANDIDATES_PER_MODEL = 24;

/** Scores candidates exactly and keeps the k most probable (ties: smaller id first). */
export function topPredictions(
  distribution: TokenDistribution,
  candidates: Iterable<number>,
  vocabulary: Vocabulary,
  k: number,
): Prediction[] {
  const scored: { id: number; probability: number }[] = [];
  for (const id of candidates) scored.push({ id, probability: distribution.probability(id) });
  scored.sort((a, b) => b.probability - a.probability || a.id - b.id);
  return scored.slice(0, k).map(({ id, probability }) => ({ token: vocabulary.tokenOf(id), id, probability }));
}

/** The k best predictions of a distribution filtered by a typed prefix. */
export function predictFrom(
  distribution: TokenDistribution,
  vocabulary: Vocabulary,
  typedPrefix: string,
  k: number,
  candidatesPerModel = Math.max(CANDIDATES_PER_MODEL, 2 * k),
): Prediction[] {
  const candidates = new Set<number>();
  distribution.collectCandidates(typedPrefix, candidatesPerModel, candidates);
  return topPredictions(distribution, candidates, vocabulary, k);
}
