import type { FeatureIndex, SparseVector } from './tfidf';

/** A file (by its slot in the graph) and its cosine similarity to the query. */
export interface ScoredFile {
  readonly file: number;
  readonly weight: number;
}

/** True when `a` ranks before `b`: higher weight first, then the lower slot, so ties are deterministic. */
function ranksBefore(weightA: number, fileA: number, weightB: number, fileB: number): boolean {
  return weightA > weightB || (weightA === weightB && fileA < fileB);
}

/** Sorts scored files best first with the same tie-break as every other ranking here. */
export function sortByWeight(scored: ScoredFile[]): ScoredFile[] {
  return scored.sort((a, b) => (a.weight !== b.weight ? b.weight - a.weight : a.file - b.file));
}

/**
 * Offers `file` to a neighbour list kept best first and at most `k` long.
 * A file already in the list keeps its entry: weights only change when one of
 * the two files changes, and then the entry is dropped first.
 */
export function offerNeighbour(
  list: ScoredFile[],
  file: number,
  weight: number,
  k: number,
): { inserted: boolean; evicted: number } {
  // Most offers lose to a full list's last entry: check that before scanning for duplicates.
  if (list.length >= k) {
    const last = list[list.length - 1];
    if (k === 0 || !ranksBefore(weight, file, last.weight, last.file)) return { inserted: false, evicted: -1 };
  }
  for (const entry of list) if (entry.file === file) return { inserted: false, evicted: -1 };
  let at = list.length;
  while (at > 0 && ranksBefore(weight, file, list[at - 1].weight, list[at - 1].file)) at--;
  list.splice(at, 0, { file, weight });
  const evicted = list.length > k ? (list.pop() as ScoredFile).file : -1;
  return { inserted: true, evicted };
}

/**
 * Exact (brute-force) k nearest neighbours of `query` among `vectors`, by
 * cosine similarity, best first. O(total non-zeros): meant for tests and
 * small sets, and the reference the LSH search is measured against.
 */
export function exactNearestNeighbours(
  query: SparseVector,
  vectors: ReadonlyArray<SparseVector | undefined>,
  k: number,
  minSimilarity: number,
  excludeFile = -1,
): ScoredFile[] {
  const dense = new Map<number, number>();
  for (let i = 0; i < query.featureIds.length; i++) dense.set(query.featureIds[i], query.weights[i]);
  const best: ScoredFile[] = [];
  for (let file = 0; file < vectors.length; file++) {
    const vector = vectors[file];
    if (vector === undefined || file === excludeFile) continue;
    let similarity = 0;
    for (let i = 0; i < vector.featureIds.length; i++) {
      const queryWeight = dense.get(vector.featureIds[i]);
      if (queryWeight !== undefined) similarity += queryWeight * vector.weights[i];
    }
    if (similarity >= minSimilarity && similarity > 0) offerNeighbour(best, file, similarity, k);
  }
  return best;
}

/**
 * LSH buckets: band key -> files. A bucket stops accepting members at
 * `maxBucketSize`, so near-duplicate files (vendored copies, generated code)
 * cannot make a query quadratic; a capped file is still found through its
 * other bands and can still query every bucket.
 */
export class LshBuckets {
  /** A lone member is stored as a number: most buckets never get a second one. */
  private readonly buckets = new Map<number, number | number[]>();

  constructor(private readonly maxBucketSize: number) {}

  get bucketCount(): number {
    return this.buckets.size;
  }

  add(file: number, keys: Uint32Array): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const members = this.buckets.get(key);
      if (members === undefined) this.buckets.set(key, file);
      else if (typeof members === 'number') this.buckets.set(key, [members, file]);
      else if (members.length < this.maxBucketSize) members.push(file);
    }
  }

  remove(file: number, keys: Uint32Array): void {
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const members = this.buckets.get(key);
      if (members === undefined) continue;
      if (typeof members === 'number') {
        if (members === file) this.buckets.delete(key);
        continue;
      }
      const at = members.indexOf(file);
      if (at < 0) continue;
      members[at] = members[members.length - 1];
      members.pop();
      if (members.length === 1) this.buckets.set(key, members[0]);
    }
  }

  membersOf(key: number): number | readonly number[] | undefined {
    return this.buckets.get(key);
  }

  clear(): void {
    this.buckets.clear();
  }
}

export interface NeighbourSearchOptions {
  /** Largest LSH bucket; see `LshBuckets`. */
  readonly maxBucketSize: number;
  /** Candidates (by LSH collisions, or by shared rare features) scored exactly per query. */
  readonly candidatesPerQuery: number;
  /** Posting entries the fallback may walk for one query. */
  readonly fallbackVisitBudget: number;
}

export interface NeighbourQuery {
  readonly vector: SparseVector;
  readonly bandKeys: Uint32Array | undefined;
  readonly k: number;
  readonly minSimilarity: number;
  readonly excludeFile: number;
  /** Score every file instead of LSH candidates (small graphs). */
  readonly exhaustive: boolean;
}

/**
 * Approximate kNN by cosine: LSH band collisions pick candidates, the most
 * colliding ones are scored exactly, and when that yields fewer than k
 * neighbours a fallback walks the posting lists of the query's rarest
 * features, so a file that shares anything distinctive still gets neighbours.
 * Work per query is bounded by bands x bucket size + the fallback budget,
 * independent of the number of files.
 */
export class NeighbourSearch {
  private readonly vectors: (SparseVector | undefined)[] = [];
  private readonly bandKeysByFile: (Uint32Array | undefined)[] = [];
  private readonly buckets: LshBuckets;
  private collisionCounts = new Uint16Array(0);
  private overlapScores = new Float64Array(0);
  private scoredStamps = new Int32Array(0);
  private stamp = 0;
  private denseQuery = new Float64Array(0);
  private scoredCount = 0;

  constructor(
    private readonly features: FeatureIndex,
    private readonly options: NeighbourSearchOptions,
  ) {
    this.buckets = new LshBuckets(options.maxBucketSize);
  }

  /** Exact cosines computed so far; shows that work per search stays bounded. */
  get candidatesScored(): number {
    return this.scoredCount;
  }

  get indexedVectors(): ReadonlyArray<SparseVector | undefined> {
    return this.vectors;
  }

  add(file: number, vector: SparseVector, bandKeys: Uint32Array | undefined): void {
    this.remove(file);
    while (this.vectors.length <= file) {
      this.vectors.push(undefined);
      this.bandKeysByFile.push(undefined);
    }
    this.vectors[file] = vector;
    this.bandKeysByFile[file] = bandKeys;
    if (bandKeys !== undefined) this.buckets.add(file, bandKeys);
    this.ensureFileCapacity(this.vectors.length);
  }

  remove(file: number): void {
    const keys = this.bandKeysByFile[file];
    if (keys !== undefined) this.buckets.remove(file, keys);
    if (file < this.vectors.length) {
      this.vectors[file] = undefined;
      this.bandKeysByFile[file] = undefined;
    }
  }

  clear(): void {
    this.buckets.clear();
    this.vectors.fill(undefined);
    this.bandKeysByFile.fill(undefined);
  }

  /** Every scored file with similarity >= minSimilarity, in no particular order (may be more than k). */
  search(query: NeighbourQuery): ScoredFile[] {
    if (query.k <= 0 || query.vector.featureIds.length === 0) return [];
    this.stamp++;
    if (this.stamp === 0x7fffffff) {
      this.scoredStamps.fill(0);
      this.stamp = 1;
    }
    this.scatterQuery(query.vector, true);
    const scored: ScoredFile[] = [];
    try {
      if (query.exhaustive) {
        for (let file = 0; file < this.vectors.length; file++) this.score(file, query, scored);
      } else {
        if (query.bandKeys !== undefined) {
          const candidates = this.lshCandidates(query.bandKeys, query.excludeFile);
          for (const file of candidates) this.score(file, query, scored);
        }
        if (scored.length < query.k) {
          const candidates = this.sharedFeatureCandidates(query.vector, query.excludeFile);
          for (const file of candidates) this.score(file, query, scored);
        }
      }
    } finally {
      this.scatterQuery(query.vector, false);
    }
    return scored;
  }

  private score(file: number, query: NeighbourQuery, scored: ScoredFile[]): void {
    const vector = this.vectors[file];
    if (vector === undefined || file === query.excludeFile || this.scoredStamps[file] === this.stamp) return;
    this.scoredStamps[file] = this.stamp;
    this.scoredCount++;
    // A small query against a big file (a huge .d.ts) is cheaper by binary search than by a full pass.
    const similarity =
      vector.featureIds.length > 16 * query.vector.featureIds.length
        ? dotBySearch(query.vector, vector)
        : dotByScatter(this.denseQuery, vector);
    if (similarity >= query.minSimilarity && similarity > 0) scored.push({ file, weight: similarity });
  }

  /** Files sharing the most bands with the query. */
  private lshCandidates(bandKeys: Uint32Array, excludeFile: number): number[] {
    const counts = this.collisionCounts;
    const touched: number[] = [];
    for (let band = 0; band < bandKeys.length; band++) {
      const members = this.buckets.membersOf(bandKeys[band]);
      if (members === undefined) continue;
      if (typeof members === 'number') {
        if (members !== excludeFile && counts[members]++ === 0) touched.push(members);
        continue;
      }
      for (let i = 0; i < members.length; i++) {
        const file = members[i];
        if (file !== excludeFile && counts[file]++ === 0) touched.push(file);
      }
    }
    const chosen = selectTop(touched, counts, this.options.candidatesPerQuery);
    for (const file of touched) counts[file] = 0;
    return chosen;
  }

  /** Files sharing the query's rarest features, ranked by the query weight they share. */
  private sharedFeatureCandidates(vector: SparseVector, excludeFile: number): number[] {
    const features = this.features;
    const order: number[] = [];
    for (let i = 0; i < vector.featureIds.length; i++) if (vector.weights[i] > 0) order.push(i);
    const frequencyOf = (index: number): number => features.documentFrequency(vector.featureIds[index]);
    order.sort((a, b) => frequencyOf(a) - frequencyOf(b));
    const overlap = this.overlapScores;
    const touched: number[] = [];
    let budget = this.options.fallbackVisitBudget;
    for (const index of order) {
      const documents = features.documentsWith(vector.featureIds[index]);
      const weight = vector.weights[index];
      const end = Math.min(documents.length, budget);
      for (let i = 0; i < end; i++) {
        const file = documents[i];
        if (file === excludeFile || this.scoredStamps[file] === this.stamp) continue;
        if (overlap[file] === 0) touched.push(file);
        overlap[file] += weight;
      }
      budget -= end;
      if (budget <= 0) break;
    }
    const chosen = selectTop(touched, overlap, this.options.candidatesPerQuery);
    for (const file of touched) overlap[file] = 0;
    return chosen;
  }

  /** Writes the query into the dense scratch (or clears it again). */
  private scatterQuery(vector: SparseVector, write: boolean): void {
    if (this.denseQuery.length < this.features.featureCount) {
      this.denseQuery = new Float64Array(Math.max(this.features.featureCount, this.denseQuery.length * 2));
    }
    const dense = this.denseQuery;
    for (let i = 0; i < vector.featureIds.length; i++) dense[vector.featureIds[i]] = write ? vector.weights[i] : 0;
  }

  private ensureFileCapacity(fileCount: number): void {
    if (this.collisionCounts.length >= fileCount) return;
    const capacity = Math.max(fileCount, this.collisionCounts.length * 2, 64);
    this.collisionCounts = new Uint16Array(capacity);
    this.overlapScores = new Float64Array(capacity);
    const stamps = new Int32Array(capacity);
    stamps.set(this.scoredStamps);
    this.scoredStamps = stamps;
  }
}

function dotByScatter(denseQuery: Float64Array, vector: SparseVector): number {
  let sum = 0;
  const ids = vector.featureIds;
  const weights = vector.weights;
  for (let i = 0; i < ids.length; i++) sum += denseQuery[ids[i]] * weights[i];
  return sum;
}

/** Dot product looking each of `small`'s ids up in `large` (ids ascending in both). */
function dotBySearch(small: SparseVector, large: SparseVector): number {
  const ids = large.featureIds;
  let sum = 0;
  let low = 0;
  for (let i = 0; i < small.featureIds.length; i++) {
    const id = small.featureIds[i];
    let high = ids.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (ids[middle] < id) low = middle + 1;
      else high = middle - 1;
    }
    if (low < ids.length && ids[low] === id) sum += small.weights[i] * large.weights[low];
  }
  return sum;
}

/**
 * The `limit` files with the highest `scores` (ties: lower slot first),
 * through a bounded min-heap: O(n log limit) without sorting all of them.
 */
export function selectTop(files: readonly number[], scores: ArrayLike<number>, limit: number): number[] {
  if (files.length <= limit) return files.slice();
  const heap: number[] = [];
  // The heap's root is the worst kept file.
  const worse = (a: number, b: number): boolean => ranksBefore(scores[b], b, scores[a], a);
  const siftDown = (start: number): void => {
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let worst = at;
      if (left < heap.length && worse(heap[left], heap[worst])) worst = left;
      if (right < heap.length && worse(heap[right], heap[worst])) worst = right;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst], heap[at]];
      at = worst;
    }
  };
  for (const file of files) {
    if (heap.length < limit) {
      heap.push(file);
      let at = heap.length - 1;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!worse(heap[at], heap[parent])) break;
        [heap[at], heap[parent]] = [heap[parent], heap[at]];
        at = parent;
      }
    } else if (worse(heap[0], file)) {
      heap[0] = file;
      siftDown(0);
    }
  }
  return heap;
}
