import type { TokenDistribution } from '../../../../src/core/ngram/tokenModel';

/** A small seeded generator (mulberry32), so random tests are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Files of token ids with a skewed distribution, so n-grams repeat as in code. */
export function randomFiles(count: number, length: number, vocabularySize: number, seed: number): number[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () =>
    Array.from({ length: 1 + Math.floor(random() * length) }, () => Math.floor(vocabularySize * random() * random())),
  );
}

/** Σ p over every vocabulary id plus the escape slot. */
export function totalProbability(distribution: TokenDistribution): number {
  let total = distribution.escapeProbability;
  for (let id = 0; id < distribution.vocabularySize; id++) total += distribution.probability(id);
  return total;
}
