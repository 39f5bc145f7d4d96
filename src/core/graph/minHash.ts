import { combineHash, mix32 } from './hashing';

const TWO_TO_MINUS_32 = 1 / 4294967296;
const GOLDEN_GAMMA = 0x9e3779b9;

/**
 * Weighted MinHash (P-MinHash) signatures for LSH candidates.
 *
 * Why this scheme: plain MinHash on token sets treats `const` like a rare
 * class name, so all files of one project look alike; SimHash / random
 * projections separate poorly at the low cosines (0.1–0.5) typical between
 * related source files. In P-MinHash (Moulton & Jiang 2018) every feature
 * races in every slot with an exponential clock of rate = its TF-IDF weight:
 * a slot picks a feature with probability proportional to its weight, and two
 * files agree on a slot with probability equal to their probability-Jaccard
 * similarity, which tracks TF-IDF cosine. (One-permutation hashing would be
 * cheaper but gives each hash bin an equal say, so a heavy shared name
 * counts once instead of dominating.)
 *
 * Cost: each feature draws its slot clocks in increasing order (Rényi's
 * representation of exponential order statistics, slots in a random
 * permutation) and stops as soon as its next clock cannot beat the largest
 * current slot minimum, as in Ertl's ProbMinHash. The result is exactly the
 * full race, at about O(features + slots·log slots) instead of
 * O(features·slots).
 */
export class WeightedMinHasher {
  readonly bandCount: number;
  private readonly clockSeed: number;
  private readonly bestClock: Float64Array;
  /** Max-tree over `bestClock`: leaves at [size, 2·size), root at 1. */
  private readonly maxTree: Float64Array;
  private readonly permutation: Int32Array;
  private readonly swaps: Int32Array;

  constructor(
    readonly signatureSize: number,
    readonly rowsPerBand: number,
    seed: number,
  ) {
    if (
      !Number.isInteger(signatureSize) ||
      !Number.isInteger(rowsPerBand) ||
      rowsPerBand < 1 ||
      signatureSize < rowsPerBand ||
      signatureSize % rowsPerBand !== 0
    ) {
      throw new RangeError(
        `signatureSize (${signatureSize}) must be a positive multiple of rowsPerBand (${rowsPerBand}); ` +
          'pick e.g. 128 and 1.',
      );
    }
    this.bandCount = signatureSize / rowsPerBand;
    this.clockSeed = mix32(seed ^ 0x27d4eb2f);
    this.bestClock = new Float64Array(signatureSize);
    this.maxTree = new Float64Array(2 * signatureSize);
    this.permutation = Int32Array.from({ length: signatureSize }, (_, slot) => slot);
    this.swaps = new Int32Array(signatureSize);
  }

  /**
   * The signature of a weighted set given by parallel `featureHashes` and
   * `weights` (non-positive weights are ignored). Each slot holds the hash of
   * the winning feature. Undefined when no feature has a positive weight.
   */
  signature(featureHashes: ArrayLike<number>, weights: ArrayLike<number>): Uint32Array | undefined {
    const size = this.signatureSize;
    const signature = new Uint32Array(size);
    const bestClock = this.bestClock;
    const tree = this.maxTree;
    const permutation = this.permutation;
    const swaps = this.swaps;
    bestClock.fill(Infinity);
    tree.fill(Infinity);
    // Heaviest first: they set low slot minima early, so lighter features stop after a step or two.
    const order: number[] = [];
    for (let i = 0; i < featureHashes.length; i++) if (weights[i] > 0) order.push(i);
    if (order.length === 0) return undefined;
    order.sort((a, b) => weights[b] - weights[a] || featureHashes[a] - featureHashes[b]);
    for (const i of order) {
      const weight = weights[i];
      const hash = featureHashes[i];
      let state = mix32(hash ^ this.clockSeed);
      let clock = 0;
      let steps = 0;
      for (; steps < size; steps++) {
        // The (steps+1)-th smallest of `size` Exp(weight) clocks.
        state = (state + GOLDEN_GAMMA) >>> 0;
        const uniform = (mix32(state) + 0.5) * TWO_TO_MINUS_32;
        clock += -Math.log(uniform) / (weight * (size - steps));
        if (clock >= tree[1]) break;
        state = (state + GOLDEN_GAMMA) >>> 0;
        const pick = steps + Math.floor((mix32(state) + 0.5) * TWO_TO_MINUS_32 * (size - steps));
        swaps[steps] = pick;
        const slot = permutation[pick];
        permutation[pick] = permutation[steps];
        permutation[steps] = slot;
        if (clock < bestClock[slot]) {
          bestClock[slot] = clock;
          signature[slot] = hash;
          let node = size + slot;
          tree[node] = clock;
          while (node > 1) {
            const sibling = node ^ 1;
            const parent = node >> 1;
            const larger = tree[node] > tree[sibling] ? tree[node] : tree[sibling];
            if (tree[parent] === larger) break;
            tree[parent] = larger;
            node = parent;
          }
        }
      }
      // Undo this feature's swaps so the next feature starts from the identity.
      for (let step = steps - 1; step >= 0; step--) {
        const pick = swaps[step];
        const slot = permutation[step];
        permutation[step] = permutation[pick];
        permutation[pick] = slot;
      }
    }
    return signature;
  }

  /** One 32-bit key per band; the band index is mixed in so bands never share buckets by design. */
  bandKeys(signature: Uint32Array): Uint32Array {
    const keys = new Uint32Array(this.bandCount);
    const rows = this.rowsPerBand;
    for (let band = 0; band < this.bandCount; band++) {
      let key = mix32(band + 1);
      for (let row = 0; row < rows; row++) key = combineHash(key, signature[band * rows + row]);
      keys[band] = key;
    }
    return keys;
  }
}
