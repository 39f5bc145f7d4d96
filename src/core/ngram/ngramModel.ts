import type { Vocabulary } from '../text/vocabulary';
import { BEGIN_OF_FILE, CountTrie } from './countTrie';
import { prefixIndexOf } from './prefixIndex';
import { DistributionModel } from './tokenModel';
import type { TokenContext, TokenDistribution } from './tokenModel';

/** Vocabulary entry of the end-of-file symbol; the lexer can never produce it (`<` is a token of its own). */
export const END_OF_FILE = '<eof>';

/**
 * `jm`: Jelinek-Mercer interpolation of maximum-likelihood estimates, as in
 * SLP-Core. `mkn`: interpolated modified Kneser-Ney (Chen & Goodman 1998).
 */
export type Smoothing = 'jm' | 'mkn';

export const DEFAULT_ORDER = 6;
/**
 * Static setting, order 6: rxjs 3.101 bits / MRR 0.675 against 3.250 / 0.671
 * for JM (λ = 0.5); 942k tokens of JavaScript libraries 5.415 / 0.513 against
 * 5.640 / 0.504; 1.07M tokens of Python's standard library 6.165 / 0.493
 * against 6.433 / 0.484.
 */
export const DEFAULT_SMOOTHING: Smoothing = 'mkn';

export interface NgramModelOptions {
  order?: number;
  smoothing?: Smoothing;
  /**
   * JM only. A number: the same λ for every context, as SLP-Core's JMModel
   * (0.5, the default). `witten-bell`: each context gets its own
   * λ = n / (n + distinctWeight · u) from its count n and its number of
   * distinct successors u; better in small, bursty models like the cache.
   */
  jmLambda?: number | 'witten-bell';
  distinctWeight?: number;
  /** How the confidence of a distribution grows with the length of the matched context. */
  confidenceBase?: number;
  /**
   * MKN only: take the discounts of this (larger) model instead of estimating
   * them from our own counts-of-counts, which are too few in a locality level.
   */
  discountsFrom?: NgramModel;
}

const DEFAULT_JM_LAMBDA = 0.5;
const DEFAULT_DISTINCT_WEIGHT = 1;
/** Discounts for a trie too small for the Chen & Goodman estimates (typical values on code). */
const FALLBACK_DISCOUNTS = [0, 0.6, 1.0, 1.3];
/** Contexts with more successors than this keep a cached ranking of their most frequent ones. */
const RANKING_THRESHOLD = 48;
/** Length of such a ranking: more than any caller asks one context for. */
const RANKING_SIZE = 64;
/** Above this many successors, a typed prefix is looked up in the vocabulary's prefix index instead. */
const PREFIX_INDEX_THRESHOLD = 4096;

/**
 * An n-gram model over a CountTrie: learns whole files (each closed by the
 * end-of-file symbol) and gives normalised next-token distributions.
 */
export class NgramModel extends DistributionModel<NgramDistribution> {
  readonly trie: CountTrie;
  readonly smoothing: Smoothing;
  readonly endOfFile: number;
  /** JM: the λ of every context, or undefined for Witten-Bell λ per context. */
  readonly fixedLambda: number | undefined;
  readonly distinctWeight: number;
  private readonly confidenceBase: number;
  /** [order * 4 + bucket] discounts for bucket 1, 2, 3+; raw counts and left-extension counts. */
  private readonly rawDiscounts: Float64Array;
  private readonly continuationDiscounts: Float64Array;
  private discountsVersion = -1;
  private readonly discountSource: NgramModel | undefined;
  /** Per large context: its most frequent successors, and its successor total when ranked. */
  private readonly rankings = new Map<number, { ranking: Int32Array; total: number }>();
  private rankingsGeneration = 0;

  constructor(vocabulary: Vocabulary, options: NgramModelOptions = {}) {
    super(vocabulary);
    this.trie = new CountTrie(options.order ?? DEFAULT_ORDER);
    this.smoothing = options.smoothing ?? DEFAULT_SMOOTHING;
    const jmLambda = options.jmLambda ?? DEFAULT_JM_LAMBDA;
    this.fixedLambda = jmLambda === 'witten-bell' ? undefined : jmLambda;
    if (this.fixedLambda !== undefined && !(this.fixedLambda > 0 && this.fixedLambda < 1)) {
      throw new RangeError(`jmLambda must lie strictly between 0 and 1, got ${this.fixedLambda}.`);
    }
    this.distinctWeight = options.distinctWeight ?? DEFAULT_DISTINCT_WEIGHT;
    this.confidenceBase = options.confidenceBase ?? 2;
    this.discountSource = options.discountsFrom;
    this.endOfFile = vocabulary.intern(END_OF_FILE);
    this.rawDiscounts = new Float64Array((this.order + 1) * 4);
    this.continuationDiscounts = new Float64Array((this.order + 1) * 4);
  }

  get order(): number {
    return this.trie.order;
  }

  override learn(fileId: string, tokens: ArrayLike<number>): void {
    const ids = new Int32Array(tokens.length + 1);
    for (let i = 0; i < tokens.length; i++) ids[i] = tokens[i];
    ids[tokens.length] = this.endOfFile;
    this.trie.learn(fileId, ids);
  }

  /** Counts the next token of a file being read or typed (no end-of-file symbol). */
  extend(fileId: string, token: number): void {
    this.trie.extend(fileId, token);
  }

  override forget(fileId: string): void {
    this.trie.forget(fileId);
  }

  hasFile(fileId: string): boolean {
    return this.trie.hasFile(fileId);
  }

  /** The token ids a file was learned with (without the end-of-file symbol). */
  tokensOf(fileId: string): Int32Array | undefined {
    const ids = this.trie.tokensOf(fileId);
    if (ids === undefined) return undefined;
    return ids.length > 0 && ids[ids.length - 1] === this.endOfFile ? ids.subarray(0, -1) : ids;
  }

  override distribution(context: TokenContext): NgramDistribution {
    return new NgramDistribution(this, context);
  }


  /** @internal */ confidenceFor(matchedOrder: number): number {
    return 1 - Math.pow(this.confidenceBase, -matchedOrder);
  }

  /** @internal Discounts for n-grams of `order`, re-estimated when the counts have changed. */
  discountsFor(order: number, raw: boolean): Float64Array {
    if (this.discountSource !== undefined && this.discountSource.order === this.order) {
      return this.discountSource.discountsFor(order, raw);
    }
    if (this.discountsVersion !== this.trie.version) this.estimateDiscounts();
    const table = raw ? this.rawDiscounts : this.continuationDiscounts;
    return table.subarray(order * 4, order * 4 + 4);
  }

  /**
   * @internal Successors of context `node` that start with `typedPrefix`,
   * most frequent first, at most `limit`: candidates, scored exactly later.
   * Large contexts answer an empty prefix from a cached ranking, redone once
   * the context's count has moved by a sixteenth, so forgetting one file of a
   * large model does not make the next prediction rescan every context.
   */
  successorsOf(node: number, typedPrefix: string, limit: number): ArrayLike<number> {
    const trie = this.trie;
    const distinct = trie.distinctSuccessors(node);
    if (typedPrefix === '' && distinct > RANKING_THRESHOLD && limit <= RANKING_SIZE) {
      if (this.rankingsGeneration !== trie.generation) {
        this.rankings.clear();
        this.rankingsGeneration = trie.generation;
      }
      const total = trie.successorTotal(node);
      let cached = this.rankings.get(node);
      if (cached === undefined || Math.abs(total - cached.total) > Math.max(2, cached.total >> 4)) {
        cached = { ranking: Int32Array.from(this.scanSuccessors(node, '', RANKING_SIZE)), total };
        this.rankings.set(node, cached);
      }
      return cached.ranking.length > limit ? cached.ranking.subarray(0, limit) : cached.ranking;
    }
    if (typedPrefix !== '' && distinct > PREFIX_INDEX_THRESHOLD) {
      const found: { token: number; count: number }[] = [];
      for (const token of prefixIndexOf(this.vocabulary).idsStartingWith(typedPrefix)) {
        const child = trie.child(node, token);
        if (child >= 0 && trie.count(child) > 0) found.push({ token, count: trie.count(child) });
      }
      found.sort((a, b) => b.count - a.count || a.token - b.token);
      return found.slice(0, limit).map((entry) => entry.token);
    }
    return this.scanSuccessors(node, typedPrefix, limit);
  }

  /** One pass over the children keeping the `limit` most frequent (ties: smaller id), no sort of all. */
  private scanSuccessors(node: number, typedPrefix: string, limit: number): number[] {
    const trie = this.trie;
    const tokens: number[] = [];
    const counts: number[] = [];
    for (let child = trie.firstChild(node); child >= 0; child = trie.nextSibling(child)) {
      const count = trie.count(child);
      if (count === 0) continue;
      const token = trie.tokenAt(child);
      if (token < 0) continue;
      const full = tokens.length >= limit;
      if (full && !ranksBefore(count, token, counts[limit - 1], tokens[limit - 1])) continue;
      if (typedPrefix !== '' && !this.vocabulary.tokenOf(token).startsWith(typedPrefix)) continue;
      let at = full ? limit - 1 : tokens.length;
      while (at > 0 && ranksBefore(count, token, counts[at - 1], tokens[at - 1])) {
        tokens[at] = tokens[at - 1];
        counts[at] = counts[at - 1];
        at--;
      }
      tokens[at] = token;
      counts[at] = count;
    }
    tokens.length = Math.min(tokens.length, limit);
    return tokens;
  }

  private estimateDiscounts(): void {
    for (let order = 1; order <= this.order; order++) {
      this.estimateOrder(order, 'raw', this.rawDiscounts);
      this.estimateOrder(order, 'continuation', this.continuationDiscounts);
    }
    this.discountsVersion = this.trie.version;
  }

  /** Chen & Goodman: Y = n1/(n1+2n2), D1 = 1-2Y·n2/n1, D2 = 2-3Y·n3/n2, D3+ = 3-4Y·n4/n3. */
  private estimateOrder(order: number, kind: 'raw' | 'continuation', into: Float64Array): void {
    const n1 = this.trie.countsOfCounts(order, 1, kind);
    const n2 = this.trie.countsOfCounts(order, 2, kind);
    const n3 = this.trie.countsOfCounts(order, 3, kind);
    const n4 = this.trie.countsOfCounts(order, 4, kind);
    let d1 = FALLBACK_DISCOUNTS[1];
    let d2 = FALLBACK_DISCOUNTS[2];
    let d3 = FALLBACK_DISCOUNTS[3];
    if (n1 > 0 && n2 > 0) {
      const y = n1 / (n1 + 2 * n2);
      d1 = 1 - (2 * y * n2) / n1;
      if (n3 > 0) d2 = 2 - (3 * y * n3) / n2;
      if (n3 > 0 && n4 > 0) d3 = 3 - (4 * y * n4) / n3;
    }
    // Every discount stays positive so each context keeps mass for what it has not seen.
    const base = order * 4;
    into[base + 1] = clamp(d1, 0.05, 0.95);
    into[base + 2] = clamp(d2, 0.1, 1.9);
    into[base + 3] = clamp(d3, 0.15, 2.85);
  }
}

function ranksBefore(count: number, token: number, otherCount: number, otherToken: number): boolean {
  return count > otherCount || (count === otherCount && token < otherToken);
}

function clamp(value: number, low: number, high: number): number {
  return Number.isFinite(value) ? Math.min(high, Math.max(low, value)) : (low + high) / 2;
}

/**
 * The smoothed distribution at one context. The interpolation is unrolled into
 * one weight per context order, so p(w) is a few child look-ups and
 * multiply-adds: p(w) = floorShare + Σ_d weight[d] · adjusted count of w after
 * the order-d context.
 */
export class NgramDistribution implements TokenDistribution {
  readonly vocabularySize: number;
  readonly escapeProbability: number;
  readonly confidence: number;
  readonly matchedOrder: number;
  readonly contextCount: number;
  readonly contextDistinct: number;
  /** contextNodes[d]: node of the last d context tokens; valid for d ≤ deepest. */
  private readonly contextNodes: Int32Array;
  private readonly deepest: number;
  private readonly weights: Float64Array;
  /** Per order: 0 = maximum likelihood (JM), 1 = raw counts, 2 = left-extension counts (MKN). */
  private readonly countKinds: Uint8Array;
  private readonly discounts: Float64Array[];
  private readonly floorShare: number;

  constructor(
    private readonly model: NgramModel,
    context: TokenContext,
  ) {
    const trie = model.trie;
    const order = trie.order;
    this.contextNodes = new Int32Array(order);
    this.weights = new Float64Array(order);
    this.countKinds = new Uint8Array(order);
    this.discounts = new Array<Float64Array>(order);
    this.vocabularySize = model.vocabulary.size;
    this.deepest = this.locateContexts(context);

    let remaining = 1;
    const deepest = this.deepest;
    if (model.smoothing === 'jm') {
      const fixedLambda = model.fixedLambda;
      const distinctWeight = model.distinctWeight;
      for (let d = deepest; d >= 0; d--) {
        const node = this.contextNodes[d];
        const total = trie.successorTotal(node);
        const lambda = fixedLambda ?? total / (total + distinctWeight * trie.distinctSuccessors(node));
        this.weights[d] = (remaining * lambda) / total;
        remaining *= 1 - lambda;
      }
    } else {
      for (let d = deepest; d >= 0; d--) {
        const node = this.contextNodes[d];
        const raw = d + 1 === order || trie.startsAtFileBegin(node);
        const total = raw ? trie.successorTotal(node) : trie.leftExtensionTotal(node);
        if (total === 0) continue;
        const discounts = model.discountsFor(d + 1, raw);
        const once = raw ? trie.successorsWithCount(node, 1) : trie.leftExtendedSuccessorsWithCount(node, 1);
        const twice = raw ? trie.successorsWithCount(node, 2) : trie.leftExtendedSuccessorsWithCount(node, 2);
        const more = raw ? trie.successorsWithCount(node, 3) : trie.leftExtendedSuccessorsWithCount(node, 3);
        const gamma = (discounts[1] * once + discounts[2] * twice + discounts[3] * more) / total;
        this.weights[d] = remaining / total;
        this.countKinds[d] = raw ? 1 : 2;
        this.discounts[d] = discounts;
        remaining *= gamma;
      }
    }
    this.floorShare = remaining / (this.vocabularySize + 1);
    this.escapeProbability = this.floorShare;
    this.matchedOrder = deepest + 1;
    const deepestNode = deepest >= 0 ? this.contextNodes[deepest] : -1;
    this.contextCount = deepestNode >= 0 ? trie.successorTotal(deepestNode) : 0;
    this.contextDistinct = deepestNode >= 0 ? trie.distinctSuccessors(deepestNode) : 0;
    this.confidence = model.confidenceFor(this.matchedOrder);
  }

  probability(token: number): number {
    if (token < 0 || token >= this.vocabularySize) return this.floorShare;
    const trie = this.model.trie;
    let probability = this.floorShare;
    for (let d = 0; d <= this.deepest; d++) {
      const child = trie.child(this.contextNodes[d], token);
      if (child < 0) continue;
      const kind = this.countKinds[d];
      if (kind === 0) {
        probability += this.weights[d] * trie.count(child);
      } else {
        const adjusted = kind === 1 ? trie.count(child) : trie.leftExtensionCount(child);
        if (adjusted > 0) probability += this.weights[d] * (adjusted - this.discounts[d][adjusted < 3 ? adjusted : 3]);
      }
    }
    return probability;
  }

  collectCandidates(typedPrefix: string, limit: number, into: Set<number>): void {
    const mine = new Set<number>();
    for (let d = this.deepest; d >= 0 && mine.size < limit; d--) {
      // Ask for `limit` each time: successors already taken from a longer context come back.
      const found = this.model.successorsOf(this.contextNodes[d], typedPrefix, limit);
      for (let i = 0; i < found.length && mine.size < limit; i++) {
        mine.add(found[i]);
        into.add(found[i]);
      }
    }
  }

  /** Finds the node of each context suffix; returns the longest order seen with successors, or -1. */
  private locateContexts(context: TokenContext): number {
    const trie = this.model.trie;
    const root = trie.root;
    if (trie.successorTotal(root) === 0) return -1;
    this.contextNodes[0] = root;
    const length = context.length;
    const maxDepth = this.contextNodes.length - 1;
    let deepest = 0;
    for (let d = 1; d <= maxDepth && d <= length + 1; d++) {
      let node = root;
      for (let j = d; j >= 1 && node >= 0; j--) {
        const index = length - j;
        node = trie.child(node, index >= 0 ? context[index] : BEGIN_OF_FILE);
      }
      if (node < 0 || trie.successorTotal(node) === 0) break;
      this.contextNodes[d] = node;
      deepest = d;
    }
    return deepest;
  }
}
