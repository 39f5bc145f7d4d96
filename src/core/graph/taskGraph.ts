import { detectCommunities } from './communities';
import type { IndexedEdge } from './communities';
import { WeightedMinHasher } from './minHash';
import { NeighbourSearch, exactNearestNeighbours, offerNeighbour, sortByWeight } from './nearestNeighbours';
import type { NeighbourQuery, ScoredFile } from './nearestNeighbours';
import { FeatureIndex, inverseDocumentFrequency, isFeatureToken, sublinearTermFrequency } from './tfidf';
import type { FeatureCounts, SparseVector } from './tfidf';

export interface TaskGraphOptions {
  /** Neighbours kept per file. Default 8. */
  readonly k?: number;
  /** Cosine below which two files are not neighbours. Default 0.05. */
  readonly minSimilarity?: number;
  /** Seeds hashing and Louvain, so equal inputs give equal graphs. Default 1. */
  readonly seed?: number;
  /** MinHash slots per file. Default 128. */
  readonly signatureSize?: number;
  /** Slots per LSH band; fewer rows find lower similarities but give more candidates. Default 1. */
  readonly rowsPerBand?: number;
  /** Largest LSH bucket (keeps duplicates from making queries quadratic). Default 64. */
  readonly maxBucketSize?: number;
  /** Candidates (most LSH collisions first) scored exactly per query. Default max(16k, 128). */
  readonly candidatesPerQuery?: number;
  /** Posting entries the rare-feature fallback may walk per query. Default 4096. */
  readonly fallbackVisitBudget?: number;
  /** Up to this many files, neighbours are searched exactly instead of through LSH. Default 500. */
  readonly exhaustiveUpTo?: number;
  /**
   * Re-weight every vector with fresh idf once files added + removed since the
   * last weighting exceed this fraction of the graph. Default 0.25; Infinity
   * never re-weights on its own (call `reweight()`).
   */
  readonly reweightAfterChangedFraction?: number;
  /**
   * Keeps what completions read (`neighboursOfTokens`, `communityOf`,
   * `communityMembers`) free of whole-graph work while files stream in: once
   * the drift passes `reweightAfterChangedFraction`, each later `upsert` or
   * `remove` takes a re-weighting pass this many steps further (a pass is two
   * steps per file: its weights, then its list) instead of the next read
   * re-weighting everything, and communities are detected when a pass ends
   * (or by `communityCount` and `snapshot`); `communityOf` and
   * `communityMembers` give the last detection's. At 2 / fraction (8 for
   * 25 %) a pass over N files takes as many changes as the drift that starts
   * the next one. Default: undefined (reads refresh).
   */
  readonly reweightFilesPerChange?: number;
  /** Louvain resolution. Default 1. */
  readonly communityResolution?: number;
  /** Which tokens are features. Default `isFeatureToken`. */
  readonly isFeature?: (token: string) => boolean;
}

export interface GraphNeighbour {
  readonly path: string;
  readonly weight: number;
}

/** What the panel draws: a JSON-serialisable picture of the graph. */
export interface TaskGraphSnapshot {
  version: 1;
  nodes: { id: string; size: number; community: number; directory: string }[];
  /** Each undirected edge once, `source < target`. */
  edges: { source: string; target: string; weight: number }[];
}

/** How much work the graph did; lets tests and benchmarks see that updates stay local. */
export interface TaskGraphWorkCounters {
  /** Neighbour lists computed by a full candidate search. */
  neighbourListsRecomputed: number;
  /** Neighbour lists that took in a file found by another file's search. */
  neighbourListsPatched: number;
  /** Exact cosines computed by searches (candidates that survived LSH). */
  candidatesScored: number;
  /** Full re-weightings with fresh idf (including the one in `build`). */
  reweights: number;
  communityDetections: number;
}

interface FileRecord {
  readonly path: string;
  tokenCount: number;
  counts: FeatureCounts;
  vector: SparseVector;
  bandKeys: Uint32Array | undefined;
  /** Best first, at most k long. */
  neighbours: ScoredFile[];
  /** Slots of files whose neighbour list holds this file. */
  readonly listedBy: Set<number>;
}

interface ResolvedOptions {
  readonly k: number;
  readonly minSimilarity: number;
  readonly seed: number;
  readonly exhaustiveUpTo: number;
  readonly reweightAfterChangedFraction: number;
  readonly reweightFilesPerChange: number | undefined;
  readonly communityResolution: number;
}

/**
 * The task graph: every file is a node, its k most similar files by TF-IDF
 * cosine are its neighbours, and the graph's edges are the union of those
 * lists (cosine is symmetric, so both directions carry the same weight).
 *
 * Updates are incremental: `upsert` and `remove` touch the changed file's
 * postings and LSH buckets, recompute its own list and the lists that held
 * it, and offer it to the lists of files it found. Idf is NOT refreshed for
 * the other files at each change: their vectors keep the idf of their last
 * weighting, which drifts by one document per change. Once the drift passes
 * `reweightAfterChangedFraction`, the next read re-weights everything, as
 * `build` does. Communities are recomputed lazily on the next read after any
 * change. With `reweightFilesPerChange`, both are done by the changes
 * instead, a bounded slice each, and reads only ever search.
 */
export class TaskGraph {
  private readonly options: ResolvedOptions;
  private readonly features: FeatureIndex;
  private readonly hasher: WeightedMinHasher;
  private readonly search: NeighbourSearch;
  private readonly files: (FileRecord | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly slotByPath = new Map<string, number>();
  private filesChangedSinceWeighting = 0;
  /** The re-weighting pass under way (`reweightFilesPerChange` only): its phase and next slot. */
  private pass: ReweightPass | undefined;
  private communityBySlot: Int32Array | undefined;
  /** The graph changed since `communityBySlot` was detected. */
  private communitiesStale = true;
  private membersByCommunity: string[][] = [];
  private readonly counters: TaskGraphWorkCounters = {
    neighbourListsRecomputed: 0,
    neighbourListsPatched: 0,
    candidatesScored: 0,
    reweights: 0,
    communityDetections: 0,
  };

  constructor(options: TaskGraphOptions = {}) {
    const k = options.k ?? 8;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}.`);
    const seed = options.seed ?? 1;
    const filesPerChange = options.reweightFilesPerChange;
    if (filesPerChange !== undefined && !(Number.isInteger(filesPerChange) && filesPerChange >= 1)) {
      throw new RangeError(`reweightFilesPerChange must be a positive integer, got ${filesPerChange}.`);
    }
    this.options = {
      k,
      minSimilarity: options.minSimilarity ?? 0.05,
      seed,
      exhaustiveUpTo: options.exhaustiveUpTo ?? 500,
      reweightAfterChangedFraction: options.reweightAfterChangedFraction ?? 0.25,
      reweightFilesPerChange: filesPerChange,
      communityResolution: options.communityResolution ?? 1,
    };
    this.features = new FeatureIndex(seed, options.isFeature ?? isFeatureToken);
    this.hasher = new WeightedMinHasher(options.signatureSize ?? 128, options.rowsPerBand ?? 1, seed);
    this.search = new NeighbourSearch(this.features, {
      maxBucketSize: options.maxBucketSize ?? 64,
      candidatesPerQuery: options.candidatesPerQuery ?? Math.max(16 * k, 128),
      fallbackVisitBudget: options.fallbackVisitBudget ?? 4096,
    });
  }

  /**
   * Builds a graph in bulk: counts every file first so document frequencies
   * are final, then weights, signatures and LSH buckets, then neighbour
   * lists. A path given twice keeps its last tokens.
   */
  static build(
    files: Iterable<{ readonly path: string; readonly tokens: readonly string[] }>,
    options?: TaskGraphOptions,
  ): TaskGraph {
    const graph = new TaskGraph(options);
    for (const { path, tokens } of files) {
      const counts = graph.features.countFeatures(tokens);
      const existing = graph.slotByPath.get(path);
      const slot = existing ?? graph.allocateSlot(path);
      const previous = graph.files[slot];
      if (previous !== undefined) graph.features.removeDocument(slot, previous.counts.featureIds);
      graph.features.addDocument(slot, counts.featureIds);
      graph.files[slot] = {
        path,
        tokenCount: tokens.length,
        counts,
        // Weighted by `reweight()` below, once document frequencies are final.
        vector: { featureIds: counts.featureIds, weights: new Float64Array(0) },
        bandKeys: undefined,
        neighbours: [],
        listedBy: new Set(),
      };
    }
    graph.reweight();
    // Reads leave detection to the changes in this mode, so a bulk-built graph brings its communities along.
    if (graph.options.reweightFilesPerChange !== undefined) graph.ensureCommunities();
    return graph;
  }

  get size(): number {
    return this.slotByPath.size;
  }

  has(path: string): boolean {
    return this.slotByPath.has(path);
  }

  /** Every path in the graph, in no particular order. */
  paths(): string[] {
    return [...this.slotByPath.keys()];
  }

  get workCounters(): Readonly<TaskGraphWorkCounters> {
    return { ...this.counters };
  }

  resetWorkCounters(): void {
    this.counters.neighbourListsRecomputed = 0;
    this.counters.neighbourListsPatched = 0;
    this.counters.candidatesScored = 0;
    this.counters.reweights = 0;
    this.counters.communityDetections = 0;
  }

  /** Adds a file or replaces its tokens, updating only what the change can affect. */
  upsert(path: string, tokens: readonly string[]): void {
    const counts = this.features.countFeatures(tokens);
    const existing = this.slotByPath.get(path);
    let slot: number;
    let affected: number[] = [];
    if (existing !== undefined) {
      const record = this.files[existing] as FileRecord;
      if (sameCounts(record.counts, counts)) {
        record.tokenCount = tokens.length;
        return;
      }
      affected = this.detach(existing);
      slot = existing;
    } else {
      slot = this.allocateSlot(path);
      this.filesChangedSinceWeighting++;
    }
    this.attach(slot, path, tokens.length, counts);
    for (const other of affected) if (other !== slot) this.recomputeNeighbours(other);
    this.communitiesStale = true;
    this.maintainAfterChange();
  }

  /** Removes a file; lists that held it find a replacement. Unknown paths are ignored. */
  remove(path: string): void {
    const slot = this.slotByPath.get(path);
    if (slot === undefined) return;
    const affected = this.detach(slot);
    this.files[slot] = undefined;
    this.slotByPath.delete(path);
    this.freeSlots.push(slot);
    this.filesChangedSinceWeighting++;
    for (const other of affected) if (this.files[other] !== undefined) this.recomputeNeighbours(other);
    // The slot may be reused by another file, which must not inherit this one's community.
    if (this.communityBySlot !== undefined && slot < this.communityBySlot.length) this.communityBySlot[slot] = -1;
    this.communitiesStale = true;
    this.maintainAfterChange();
  }

  /** The file's nearest neighbours, most similar first; empty for an unknown path. */
  neighbours(path: string): ReadonlyArray<GraphNeighbour> {
    this.completeLists();
    const slot = this.slotByPath.get(path);
    if (slot === undefined) return [];
    return this.toPaths((this.files[slot] as FileRecord).neighbours);
  }

  /**
   * Neighbours of a token list that is not (or not fully) in the graph, such
   * as the file being typed or a held-out file's prefix. Uses the graph's
   * current idf; names the graph has never seen count in the norm but match
   * nothing. `excludePath` keeps a file from finding itself.
   */
  neighboursOfTokens(
    tokens: readonly string[],
    k = this.options.k,
    excludePath?: string,
  ): ReadonlyArray<GraphNeighbour> {
    this.refreshWeightsIfDrifted();
    const documentCount = this.size;
    const counts = this.features.countQueryFeatures(tokens);
    const unknownHashes: number[] = [];
    const unknownWeights: number[] = [];
    let unknownSquaredNorm = 0;
    const unseenIdf = inverseDocumentFrequency(0, documentCount);
    for (const [token, count] of counts.unknownCounts) {
      const weight = sublinearTermFrequency(count) * unseenIdf;
      unknownHashes.push(this.features.hashOfToken(token));
      unknownWeights.push(weight);
      unknownSquaredNorm += weight * weight;
    }
    const { vector, norm } = this.features.weigh(counts, documentCount, unknownSquaredNorm);
    const hashes = [...this.hashesOf(vector.featureIds), ...unknownHashes];
    const weights = [...vector.weights, ...unknownWeights.map((weight) => (norm > 0 ? weight / norm : 0))];
    const signature = this.hasher.signature(hashes, weights);
    const excludeSlot = excludePath === undefined ? -1 : (this.slotByPath.get(excludePath) ?? -1);
    const found = this.searchCounted({
      vector,
      bandKeys: signature === undefined ? undefined : this.hasher.bandKeys(signature),
      k,
      minSimilarity: this.options.minSimilarity,
      excludeFile: excludeSlot,
      exhaustive: this.size <= this.options.exhaustiveUpTo,
    });
    return this.toPaths(sortByWeight(found).slice(0, k));
  }

  /**
   * Brute-force exact neighbours of a file over the same vectors: the
   * reference for the LSH search, and fine for small graphs.
   */
  exactNeighbours(path: string, k = this.options.k): ReadonlyArray<GraphNeighbour> {
    this.completeLists();
    const slot = this.slotByPath.get(path);
    if (slot === undefined) return [];
    const record = this.files[slot] as FileRecord;
    return this.toPaths(
      exactNearestNeighbours(record.vector, this.search.indexedVectors, k, this.options.minSimilarity, slot),
    );
  }

  /** With `reweightFilesPerChange`, the last detection's community: undefined for a file added since. */
  communityOf(path: string): number | undefined {
    const slot = this.slotByPath.get(path);
    if (slot === undefined) return undefined;
    const community = this.communitiesForRead()?.[slot] ?? -1;
    return community >= 0 ? community : undefined;
  }

  /** Paths in community `id`, sorted; empty for an unknown id. With `reweightFilesPerChange`, as of the last detection. */
  communityMembers(id: number): readonly string[] {
    this.communitiesForRead();
    return this.membersByCommunity[id] ?? [];
  }

  /** Number of communities (runs Louvain if the graph changed since the last run). */
  communityCount(): number {
    this.ensureCommunities();
    return this.membersByCommunity.length;
  }

  /** Undirected edges, each once, between slots. */
  edgeCount(): number {
    this.completeLists();
    return this.collectEdges().size;
  }

  snapshot(): TaskGraphSnapshot {
    const communities = this.ensureCommunities();
    const slots = this.slotsByPath();
    const nodes = slots.map((slot) => {
      const record = this.files[slot] as FileRecord;
      return {
        id: record.path,
        size: record.tokenCount,
        community: communities[slot],
        directory: directoryOf(record.path),
      };
    });
    const edges: TaskGraphSnapshot['edges'] = [];
    for (const [key, weight] of this.collectEdges()) {
      const pathA = (this.files[Math.floor(key / SLOT_KEY_BASE)] as FileRecord).path;
      const pathB = (this.files[key % SLOT_KEY_BASE] as FileRecord).path;
      const [source, target] = pathA < pathB ? [pathA, pathB] : [pathB, pathA];
      edges.push({ source, target, weight });
    }
    edges.sort((a, b) => compareStrings(a.source, b.source) || compareStrings(a.target, b.target));
    return { version: 1, nodes, edges };
  }

  /**
   * Recomputes idf, every vector, signature and neighbour list, as `build`
   * does. Runs by itself once enough files were added or removed.
   */
  reweight(): void {
    const documentCount = this.size;
    this.search.clear();
    for (let slot = 0; slot < this.files.length; slot++) {
      const record = this.files[slot];
      if (record === undefined) continue;
      record.vector = this.features.weigh(record.counts, documentCount).vector;
      record.bandKeys = this.bandKeysOf(record.vector);
      record.neighbours = [];
      record.listedBy.clear();
      this.search.add(slot, record.vector, record.bandKeys);
    }
    for (let slot = 0; slot < this.files.length; slot++) {
      if (this.files[slot] !== undefined) this.recomputeNeighbours(slot);
    }
    this.filesChangedSinceWeighting = 0;
    this.pass = undefined;
    this.communitiesStale = true;
    this.counters.reweights++;
  }

  private hasDrifted(): boolean {
    const changed = this.filesChangedSinceWeighting;
    return changed > 0 && changed > this.options.reweightAfterChangedFraction * this.size;
  }

  /** Reads refresh only without `reweightFilesPerChange`; with it, changes do (see `maintainAfterChange`). */
  private refreshWeightsIfDrifted(): void {
    if (this.options.reweightFilesPerChange === undefined && this.hasDrifted()) this.reweight();
  }

  /** What reads that need every list do first: the default mode's refresh, or the end of the pass under way. */
  private completeLists(): void {
    this.refreshWeightsIfDrifted();
    this.finishPass();
  }

  /**
   * With `reweightFilesPerChange`: starts a re-weighting pass once the graph
   * drifted, and takes the pass under way a slice further. A pass does what
   * `reweight` does in the same order (every vector, then every list), so it
   * ends with the graph a full reweight at its start would give, files
   * changed meanwhile aside; the change that ends it detects communities on
   * the fresh edges. Searches by reads meanwhile mix fresh and one-pass-old
   * weights, no staler than what the default mode keeps until its next read.
   */
  private maintainAfterChange(): void {
    const filesPerChange = this.options.reweightFilesPerChange;
    if (filesPerChange === undefined) return;
    if (this.pass === undefined) {
      if (!this.hasDrifted()) return;
      this.pass = { phase: 'weights', next: 0 };
      // Drift from here on is measured against the pass that just started.
      this.filesChangedSinceWeighting = 0;
    }
    this.advancePass(filesPerChange);
    if (this.pass === undefined) this.ensureCommunities();
  }

  /** Takes the pass under way `slots` slots further; the pass is cleared when it ends. */
  private advancePass(slots: number): void {
    let budget = slots;
    while (this.pass !== undefined && budget > 0) {
      const pass = this.pass;
      const end = Math.min(this.files.length, pass.next + budget);
      for (let slot = pass.next; slot < end; slot++) {
        if (pass.phase === 'weights') this.reweighSlot(slot);
        else if (this.files[slot] !== undefined) this.recomputeNeighbours(slot);
      }
      budget -= end - pass.next;
      pass.next = end;
      if (end < this.files.length) continue;
      if (pass.phase === 'weights') {
        // As in `reweight`: lists start empty, so no entry keeps a cosine of the old weights.
        for (const record of this.files) {
          if (record === undefined) continue;
          record.neighbours = [];
          record.listedBy.clear();
        }
        this.pass = { phase: 'lists', next: 0 };
      } else {
        this.pass = undefined;
        this.counters.reweights++;
      }
    }
  }

  /** Reads that need every list (edges, communities, a file's neighbours) finish the pass under way first. */
  private finishPass(): void {
    if (this.pass !== undefined) this.advancePass(Number.POSITIVE_INFINITY);
  }

  /** The first phase of a pass, for one file: fresh idf and signature. */
  private reweighSlot(slot: number): void {
    const record = this.files[slot];
    if (record === undefined) return;
    record.vector = this.features.weigh(record.counts, this.size).vector;
    record.bandKeys = this.bandKeysOf(record.vector);
    this.search.add(slot, record.vector, record.bandKeys);
  }

  private allocateSlot(path: string): number {
    const slot = this.freeSlots.pop() ?? this.files.length;
    if (slot === this.files.length) this.files.push(undefined);
    this.slotByPath.set(path, slot);
    return slot;
  }

  /** Indexes a file in `slot`, finds its neighbours and offers it to theirs. */
  private attach(slot: number, path: string, tokenCount: number, counts: FeatureCounts): void {
    this.features.addDocument(slot, counts.featureIds);
    const vector = this.features.weigh(counts, this.size).vector;
    const bandKeys = this.bandKeysOf(vector);
    this.files[slot] = { path, tokenCount, counts, vector, bandKeys, neighbours: [], listedBy: new Set() };
    this.search.add(slot, vector, bandKeys);
    this.recomputeNeighbours(slot);
  }

  /**
   * Takes a file out of postings, buckets and every neighbour list. Returns
   * the files whose lists lost it, which need a new search.
   */
  private detach(slot: number): number[] {
    const record = this.files[slot] as FileRecord;
    this.features.removeDocument(slot, record.counts.featureIds);
    this.search.remove(slot);
    for (const neighbour of record.neighbours) this.files[neighbour.file]?.listedBy.delete(slot);
    const affected = [...record.listedBy];
    for (const other of affected) {
      const list = (this.files[other] as FileRecord).neighbours;
      const at = list.findIndex((entry) => entry.file === slot);
      if (at >= 0) list.splice(at, 1);
    }
    record.neighbours = [];
    record.listedBy.clear();
    return affected;
  }

  /**
   * Searches `slot`'s neighbours, merging them into what its list already
   * holds, and offers `slot` to every file the search scored: similarity is
   * symmetric, so a file found from one side is a neighbour candidate of the
   * other too.
   */
  private recomputeNeighbours(slot: number): void {
    const record = this.files[slot] as FileRecord;
    const found = this.searchCounted({
      vector: record.vector,
      bandKeys: record.bandKeys,
      k: this.options.k,
      minSimilarity: this.options.minSimilarity,
      excludeFile: slot,
      exhaustive: this.size <= this.options.exhaustiveUpTo,
    });
    this.counters.neighbourListsRecomputed++;
    for (const { file, weight } of found) {
      this.offer(slot, file, weight);
      if (this.offer(file, slot, weight)) this.counters.neighbourListsPatched++;
    }
  }

  private searchCounted(query: NeighbourQuery): ScoredFile[] {
    const scoredBefore = this.search.candidatesScored;
    const found = this.search.search(query);
    this.counters.candidatesScored += this.search.candidatesScored - scoredBefore;
    return found;
  }

  private offer(owner: number, file: number, weight: number): boolean {
    const ownerRecord = this.files[owner] as FileRecord;
    const { inserted, evicted } = offerNeighbour(ownerRecord.neighbours, file, weight, this.options.k);
    if (!inserted) return false;
    (this.files[file] as FileRecord).listedBy.add(owner);
    if (evicted >= 0) this.files[evicted]?.listedBy.delete(owner);
    return true;
  }

  private bandKeysOf(vector: SparseVector): Uint32Array | undefined {
    const signature = this.hasher.signature(this.hashesOf(vector.featureIds), vector.weights);
    return signature === undefined ? undefined : this.hasher.bandKeys(signature);
  }

  private hashesOf(featureIds: Int32Array): Uint32Array {
    const hashes = new Uint32Array(featureIds.length);
    for (let i = 0; i < featureIds.length; i++) hashes[i] = this.features.hashOf(featureIds[i]);
    return hashes;
  }

  private toPaths(scored: readonly ScoredFile[]): GraphNeighbour[] {
    return scored.map(({ file, weight }) => ({ path: (this.files[file] as FileRecord).path, weight }));
  }

  /** Union of all neighbour lists as `lowSlot * SLOT_KEY_BASE + highSlot` -> weight. */
  private collectEdges(): Map<number, number> {
    const edges = new Map<number, number>();
    for (let slot = 0; slot < this.files.length; slot++) {
      const record = this.files[slot];
      if (record === undefined) continue;
      for (const { file, weight } of record.neighbours) {
        const key = slot < file ? slot * SLOT_KEY_BASE + file : file * SLOT_KEY_BASE + slot;
        // Both directions hold the same cosine; max guards against float noise.
        const previous = edges.get(key);
        if (previous === undefined || weight > previous) edges.set(key, weight);
      }
    }
    return edges;
  }

  private slotsByPath(): number[] {
    return [...this.slotByPath.entries()]
      .sort((a, b) => compareStrings(a[0], b[0]))
      .map(([, slot]) => slot);
  }

  /** What `communityOf` and `communityMembers` read: detected now unless changes do the detecting. */
  private communitiesForRead(): Int32Array | undefined {
    return this.options.reweightFilesPerChange === undefined ? this.ensureCommunities() : this.communityBySlot;
  }

  private ensureCommunities(): Int32Array {
    this.completeLists();
    if (this.communityBySlot !== undefined && !this.communitiesStale) return this.communityBySlot;
    // Nodes go to Louvain in path order so the result does not depend on slot reuse.
    const slots = this.slotsByPath();
    const nodeBySlot = new Int32Array(this.files.length).fill(-1);
    slots.forEach((slot, node) => (nodeBySlot[slot] = node));
    const edges: IndexedEdge[] = [];
    for (const [key, weight] of this.collectEdges()) {
      const a = nodeBySlot[Math.floor(key / SLOT_KEY_BASE)];
      const b = nodeBySlot[key % SLOT_KEY_BASE];
      edges.push(a < b ? { source: a, target: b, weight } : { source: b, target: a, weight });
    }
    edges.sort((x, y) => x.source - y.source || x.target - y.target);
    const communityByNode = detectCommunities(slots.length, edges, {
      seed: this.options.seed,
      resolution: this.options.communityResolution,
    });
    const communityBySlot = new Int32Array(this.files.length).fill(-1);
    const members: string[][] = [];
    slots.forEach((slot, node) => {
      const community = communityByNode[node];
      communityBySlot[slot] = community;
      (members[community] ??= []).push((this.files[slot] as FileRecord).path);
    });
    this.communityBySlot = communityBySlot;
    this.communitiesStale = false;
    this.membersByCommunity = members;
    this.counters.communityDetections++;
    return communityBySlot;
  }
}

interface ReweightPass {
  phase: 'weights' | 'lists';
  next: number;
}

/** Slots stay far below 2^26, so two of them pack exactly into one double. */
const SLOT_KEY_BASE = 2 ** 26;

function sameCounts(a: FeatureCounts, b: FeatureCounts): boolean {
  if (a.featureIds.length !== b.featureIds.length) return false;
  for (let i = 0; i < a.featureIds.length; i++) {
    if (a.featureIds[i] !== b.featureIds[i] || a.counts[i] !== b.counts[i]) return false;
  }
  return true;
}

/** Code-unit order, independent of locale, so snapshots are identical everywhere. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** POSIX dirname of a workspace-relative path: "." for a file at the root. */
export function directoryOf(path: string): string {
  const at = path.lastIndexOf('/');
  if (at < 0) return '.';
  if (at === 0) return '/';
  return path.slice(0, at);
}
