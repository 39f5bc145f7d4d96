// Shared knobs of the fuzz tests: how many inputs each runs and from which seed.
// `npm test` runs a few thousand per target; `npm run fuzz` sets
// METACOMPLETE_FUZZ_RUNS so every target runs 100,000 or more.
import { SeededRandom } from '../../../src/core/neural/random';

/** Inputs for one fuzz target: `base` in `npm test`, METACOMPLETE_FUZZ_RUNS (if larger) under `npm run fuzz`. */
export function fuzzRuns(base: number): number {
  const fromEnv = Number(process.env.METACOMPLETE_FUZZ_RUNS);
  return Number.isSafeInteger(fromEnv) && fromEnv > base ? fromEnv : base;
}

/** The seed of a fuzz run: fixed, so a failure reproduces; METACOMPLETE_FUZZ_SEED picks another. */
export function fuzzSeed(target: string): number {
  const fromEnv = Number(process.env.METACOMPLETE_FUZZ_SEED);
  const base = Number.isSafeInteger(fromEnv) ? fromEnv : 20261205;
  let hash = base >>> 0;
  for (const char of target) hash = (Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0);
  return hash;
}

/** A seeded generator for one fuzz target, with the draws fuzzers need. */
export class FuzzRandom extends SeededRandom {
  constructor(readonly target: string) {
    super(fuzzSeed(target));
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.nextInt(items.length)];
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.nextInt(256);
    return out;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
}
