import { MAX_NGRAM_ORDER } from '../experiment/settingRanges';

/**
 * Token id of the start of a file. It is a context, never a predicted token, so
 * it is not in the vocabulary and its own unigram is never counted.
 */
export const BEGIN_OF_FILE = -2;

const ROOT = 0;
const NONE = -1;
const INITIAL_NODES = 1024;
/** Counts-of-counts are kept for 1..4, what the Chen & Goodman discount estimates need. */
const COUNTS_OF_COUNTS_WIDTH = 5;

// Fields of a node record. Child links are stored + 1 so that 0 means none.
const PARENT = 0;
const TOKEN = 1;
const FIRST_CHILD = 2;
const NEXT_SIBLING = 3;
const COUNT = 4;
const SUCCESSOR_TOTAL = 5;
const SUCCESSORS_ONCE = 6;
const SUCCESSORS_TWICE = 7;
const SUCCESSORS_MORE = 8;
const LEFT_EXTENSIONS = 9;
const LEFT_EXTENSION_TOTAL = 10;
const LEFT_EXTENDED_ONCE = 11;
const LEFT_EXTENDED_TWICE = 12;
const LEFT_EXTENDED_MORE = 13;
const DEPTH = 14;
const AFTER_FILE_START = 15;
const NODE_STRIDE = 16;

/** Everything the trie stores about one n-gram, for tests and debugging. */
export interface NgramStats {
  count: number;
  successorTotal: number;
  successorsOnce: number;
  successorsTwice: number;
  successorsMore: number;
  leftExtensions: number;
  leftExtensionTotal: number;
  leftExtensionsOnce: number;
  leftExtensionsTwice: number;
  leftExtensionsMore: number;
}

/** The full count state: every n-gram with a non-zero statistic, keyed by its token ids. */
export interface CountState {
  ngrams: Map<string, NgramStats>;
  countsOfCounts: number[];
  continuationCountsOfCounts: number[];
  files: string[];
}

/**
 * Counts of every n-gram up to `order` over integer token ids, with what
 * Jelinek-Mercer and modified Kneser-Ney smoothing need, kept exact under
 * `learn` and `forget` so that editing one file re-counts only that file.
 *
 * A node is an n-gram; it doubles as the context of its children. Children are
 * found through one flat open-addressing hash table keyed by (parent, token) on
 * typed arrays: no object or Map per node, so counting stays fast and compact.
 * Nodes whose counts fall back to zero stay allocated and are reused when the
 * same n-gram comes back.
 *
 * Per node: `count` (occurrences of the n-gram), over its children the total,
 * and how many children have count 1, 2 and 3+ (their sum is the number of
 * distinct successors); and for Kneser-Ney lower orders `leftExtensions`
 * (distinct tokens seen right before the n-gram, N1+(• w)), with the same
 * total and 1/2/3+ tallies over the children's left-extension counts.
 * Each learned sequence starts with BEGIN_OF_FILE as context.
 */
export class CountTrie {
  readonly order: number;

  private nodeCapacity = INITIAL_NODES;
  private nodeCount = 1;
  /** One record of NODE_STRIDE ints per node, so an update touches one cache line. */
  private nodes = new Int32Array(INITIAL_NODES * NODE_STRIDE);
  /** Per slot: node id + 1 (0 = empty); the key (parent, token) is in the node's record, read anyway to count. */
  private table = new Int32Array(INITIAL_NODES * 2);
  private tableMask = INITIAL_NODES * 2 - 1;

  /** [order * 5 + c]: number of n-grams of that order whose count is exactly c (1..4). */
  private readonly rawCountsOfCounts: Float64Array;
  private readonly continuationCountsOfCounts: Float64Array;

  /** Each file's counted ids: `ids[0, length)`; spare capacity lets `extend` append cheaply. */
  private readonly files = new Map<string, { ids: Int32Array; length: number }>();
  private streamEnds: Int32Array;
  private streamLength = 0;
  private scratchPrevious: Int32Array;
  private scratchCurrent: Int32Array;
  private changeCount = 0;
  private clearCount = 0;

  constructor(order = 6) {
    if (!Number.isInteger(order) || order < 1 || order > MAX_NGRAM_ORDER) {
      throw new RangeError(`The n-gram order must be an integer from 1 to ${MAX_NGRAM_ORDER}, got ${order}.`);
    }
    this.order = order;
    this.rawCountsOfCounts = new Float64Array((order + 1) * COUNTS_OF_COUNTS_WIDTH);
    this.continuationCountsOfCounts = new Float64Array((order + 1) * COUNTS_OF_COUNTS_WIDTH);
    this.streamEnds = new Int32Array(order + 1);
    this.scratchPrevious = new Int32Array(order + 1);
    this.scratchCurrent = new Int32Array(order + 1);
    this.initialiseRoot();
  }

  /** Grows on every count change; lets models cache what they derive from counts. */
  get version(): number {
    return this.changeCount;
  }

  /** Grows on every `clear`, after which node ids name other n-grams. */
  get generation(): number {
    return this.clearCount;
  }

  get size(): number {
    return this.nodeCount;
  }

  get fileIds(): IterableIterator<string> {
    return this.files.keys();
  }

  hasFile(fileId: string): boolean {
    return this.files.has(fileId);
  }

  /** The ids a file was learned with, or undefined. */
  tokensOf(fileId: string): Int32Array | undefined {
    const file = this.files.get(fileId);
    return file === undefined ? undefined : file.ids.subarray(0, file.length);
  }

  /** Counts one file (after a BEGIN_OF_FILE context); learning a known file again replaces it. */
  learn(fileId: string, tokens: Int32Array | readonly number[]): void {
    this.forget(fileId);
    const ids = Int32Array.from(tokens);
    this.files.set(fileId, { ids, length: ids.length });
    this.applySequence(ids, 1);
  }

  /**
   * Appends one token to a file (starting it if unknown) and counts the
   * n-grams that end with it: a file being typed, learned as it grows.
   */
  extend(fileId: string, token: number): void {
    let file = this.files.get(fileId);
    if (file === undefined) this.files.set(fileId, (file = { ids: new Int32Array(64), length: 0 }));
    if (file.length === file.ids.length) {
      const bigger = new Int32Array(file.ids.length * 2);
      bigger.set(file.ids);
      file.ids = bigger;
    }
    // The k-grams ending at the file's last token, k < order: the contexts of the new token.
    const ends = this.scratchPrevious;
    ends[0] = ROOT;
    const available = Math.min(file.length + 1, this.order - 1);
    for (let k = 1; k <= available; k++) {
      let node = ROOT;
      for (let j = k; j >= 1; j--) {
        const index = file.length - j;
        node = this.findOrCreate(node, index >= 0 ? file.ids[index] : BEGIN_OF_FILE);
      }
      ends[k] = node;
    }
    this.countPosition(ends, this.scratchCurrent, available, token, 1);
    file.ids[file.length++] = token;
  }

  /** Removes one file's counts exactly; an unknown file is a no-op. */
  forget(fileId: string): void {
    const file = this.files.get(fileId);
    if (file === undefined) return;
    this.files.delete(fileId);
    this.applySequence(file.ids.subarray(0, file.length), -1);
  }

  /**
   * Starts an open sequence that grows one token at a time (a file being read),
   * for the file cache. Its counts are not tied to a file id: `clear` drops them.
   */
  beginStream(): void {
    this.streamEnds[0] = ROOT;
    this.streamEnds[1] = this.findOrCreate(ROOT, BEGIN_OF_FILE);
    this.streamLength = 1;
  }

  appendToStream(token: number): void {
    if (this.streamLength === 0) this.beginStream();
    this.streamLength = this.countPosition(this.streamEnds, this.streamEnds, this.streamLength, token, 1);
  }

  /** Drops every count and file, keeping the allocated memory. */
  clear(): void {
    this.nodes.fill(0, 0, this.nodeCount * NODE_STRIDE);
    this.table.fill(0);
    this.rawCountsOfCounts.fill(0);
    this.continuationCountsOfCounts.fill(0);
    this.files.clear();
    this.nodeCount = 1;
    this.streamLength = 0;
    this.changeCount++;
    this.clearCount++;
    this.initialiseRoot();
  }

  /** The child n-gram (context + token), or -1. */
  child(node: number, token: number): number {
    const table = this.table;
    const nodes = this.nodes;
    let slot = this.slotOf(node, token);
    for (;;) {
      const entry = table[slot];
      if (entry === 0) return NONE;
      const base = (entry - 1) * NODE_STRIDE;
      if (nodes[base + TOKEN] === token && nodes[base + PARENT] === node) return entry - 1;
      slot = (slot + 1) & this.tableMask;
    }
  }

  /** The node of the whole sequence `tokens[from, to)`, or -1 when it was never seen. */
  find(tokens: ArrayLike<number>, from = 0, to = tokens.length): number {
    let node = ROOT;
    for (let i = from; i < to && node !== NONE; i++) node = this.child(node, tokens[i]);
    return node;
  }

  get root(): number {
    return ROOT;
  }

  count(node: number): number {
    return this.nodes[node * NODE_STRIDE + COUNT];
  }

  successorTotal(node: number): number {
    return this.nodes[node * NODE_STRIDE + SUCCESSOR_TOTAL];
  }

  distinctSuccessors(node: number): number {
    const base = node * NODE_STRIDE;
    const nodes = this.nodes;
    return nodes[base + SUCCESSORS_ONCE] + nodes[base + SUCCESSORS_TWICE] + nodes[base + SUCCESSORS_MORE];
  }

  successorsWithCount(node: number, bucket: 1 | 2 | 3): number {
    return this.nodes[node * NODE_STRIDE + SUCCESSORS_ONCE + bucket - 1];
  }

  leftExtensionCount(node: number): number {
    return this.nodes[node * NODE_STRIDE + LEFT_EXTENSIONS];
  }

  leftExtensionTotal(node: number): number {
    return this.nodes[node * NODE_STRIDE + LEFT_EXTENSION_TOTAL];
  }

  distinctLeftExtendedSuccessors(node: number): number {
    const base = node * NODE_STRIDE;
    const nodes = this.nodes;
    return nodes[base + LEFT_EXTENDED_ONCE] + nodes[base + LEFT_EXTENDED_TWICE] + nodes[base + LEFT_EXTENDED_MORE];
  }

  leftExtendedSuccessorsWithCount(node: number, bucket: 1 | 2 | 3): number {
    return this.nodes[node * NODE_STRIDE + LEFT_EXTENDED_ONCE + bucket - 1];
  }

  depth(node: number): number {
    return this.nodes[node * NODE_STRIDE + DEPTH];
  }

  tokenAt(node: number): number {
    return this.nodes[node * NODE_STRIDE + TOKEN];
  }

  /** True for n-grams that start with BEGIN_OF_FILE: they have no left extensions. */
  startsAtFileBegin(node: number): boolean {
    return this.nodes[node * NODE_STRIDE + AFTER_FILE_START] === 1;
  }

  /** Calls `visit` for each child with a non-zero count; children come newest first. */
  forEachChild(node: number, visit: (child: number, token: number) => void): void {
    for (let child = this.firstChild(node); child !== NONE; child = this.nextSibling(child)) {
      if (this.count(child) > 0) visit(child, this.tokenAt(child));
    }
  }

  firstChild(node: number): number {
    return this.nodes[node * NODE_STRIDE + FIRST_CHILD] - 1;
  }

  nextSibling(node: number): number {
    return this.nodes[node * NODE_STRIDE + NEXT_SIBLING] - 1;
  }

  /** Number of n-grams of `order` whose count (raw or left-extension) is exactly `count` (1..4). */
  countsOfCounts(order: number, count: number, kind: 'raw' | 'continuation'): number {
    const table = kind === 'raw' ? this.rawCountsOfCounts : this.continuationCountsOfCounts;
    return table[order * COUNTS_OF_COUNTS_WIDTH + count];
  }

  /** Bytes held by the typed arrays, for memory reports. */
  get byteSize(): number {
    let bytes = this.table.byteLength + this.nodes.byteLength;
    for (const file of this.files.values()) bytes += file.ids.byteLength;
    return bytes;
  }

  /** A canonical copy of every non-zero statistic, for exact comparisons in tests. */
  countState(): CountState {
    const ngrams = new Map<string, NgramStats>();
    for (let node = 0; node < this.nodeCount; node++) {
      const base = node * NODE_STRIDE;
      const stats: NgramStats = {
        count: this.nodes[base + COUNT],
        successorTotal: this.nodes[base + SUCCESSOR_TOTAL],
        successorsOnce: this.nodes[base + SUCCESSORS_ONCE],
        successorsTwice: this.nodes[base + SUCCESSORS_TWICE],
        successorsMore: this.nodes[base + SUCCESSORS_MORE],
        leftExtensions: this.nodes[base + LEFT_EXTENSIONS],
        leftExtensionTotal: this.nodes[base + LEFT_EXTENSION_TOTAL],
        leftExtensionsOnce: this.nodes[base + LEFT_EXTENDED_ONCE],
        leftExtensionsTwice: this.nodes[base + LEFT_EXTENDED_TWICE],
        leftExtensionsMore: this.nodes[base + LEFT_EXTENDED_MORE],
      };
      if (Object.values(stats).every((value) => value === 0)) continue;
      ngrams.set(this.pathOf(node).join(' '), stats);
    }
    return {
      ngrams,
      countsOfCounts: Array.from(this.rawCountsOfCounts),
      continuationCountsOfCounts: Array.from(this.continuationCountsOfCounts),
      files: [...this.files.keys()].sort(),
    };
  }

  /** Token ids from the root down to `node`. */
  pathOf(node: number): number[] {
    const path: number[] = [];
    for (let current = node; current !== ROOT; current = this.nodes[current * NODE_STRIDE + PARENT]) {
      path.push(this.nodes[current * NODE_STRIDE + TOKEN]);
    }
    return path.reverse();
  }

  private initialiseRoot(): void {
    this.nodes[ROOT * NODE_STRIDE + PARENT] = NONE;
    this.nodes[ROOT * NODE_STRIDE + TOKEN] = NONE;
  }

  private applySequence(ids: Int32Array, delta: 1 | -1): void {
    const ends = this.scratchPrevious;
    ends[0] = ROOT;
    ends[1] = this.findOrCreate(ROOT, BEGIN_OF_FILE);
    let length = 1;
    for (let i = 0; i < ids.length; i++) length = this.countPosition(ends, ends, length, ids[i], delta);
  }

  /**
   * Counts the n-grams that end with `token`. `previous[k]` is the k-gram that
   * ended one position earlier (valid for k ≤ `length`); the new ones go to
   * `current`, which may be the same array. Returns how many there are now.
   */
  private countPosition(
    previous: Int32Array,
    current: Int32Array,
    length: number,
    token: number,
    delta: 1 | -1,
  ): number {
    const newLength = length + 1 < this.order ? length + 1 : this.order;
    // Downwards, so that `current` may alias `previous`: slot k-1 is read before it is overwritten.
    for (let k = newLength; k >= 1; k--) current[k] = this.findOrCreate(previous[k - 1], token);
    current[0] = ROOT;
    for (let k = 1; k <= newLength; k++) this.addToCount(current[k], k >= 2 ? current[k - 1] : NONE, delta);
    this.changeCount++;
    return newLength;
  }

  private addToCount(node: number, suffix: number, delta: 1 | -1): void {
    const nodes = this.nodes;
    const base = node * NODE_STRIDE;
    const before = nodes[base + COUNT];
    const after = before + delta;
    if (after < 0) throw new Error('CountTrie: a count fell below zero: forget was given tokens never learned.');
    nodes[base + COUNT] = after;
    const parentBase = nodes[base + PARENT] * NODE_STRIDE;
    nodes[parentBase + SUCCESSOR_TOTAL] += delta;
    moveBucket(nodes, parentBase + SUCCESSORS_ONCE, before, after);
    moveCountOfCount(this.rawCountsOfCounts, nodes[base + DEPTH], before, after);
    // A new (or vanished) n-gram a·w is a new (or lost) left extension of its suffix w.
    if (suffix !== NONE && (before === 0 || after === 0)) {
      const suffixBase = suffix * NODE_STRIDE;
      const extensionsBefore = nodes[suffixBase + LEFT_EXTENSIONS];
      const extensionsAfter = extensionsBefore + delta;
      nodes[suffixBase + LEFT_EXTENSIONS] = extensionsAfter;
      const suffixParentBase = nodes[suffixBase + PARENT] * NODE_STRIDE;
      nodes[suffixParentBase + LEFT_EXTENSION_TOTAL] += delta;
      moveBucket(nodes, suffixParentBase + LEFT_EXTENDED_ONCE, extensionsBefore, extensionsAfter);
      moveCountOfCount(this.continuationCountsOfCounts, nodes[suffixBase + DEPTH], extensionsBefore, extensionsAfter);
    }
  }

  private slotOf(parent: number, token: number): number {
    let hash = Math.imul(parent ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(token + 0x632be5ab, 0x85ebca77);
    hash ^= hash >>> 15;
    hash = Math.imul(hash, 0x2c1b3c6d);
    hash ^= hash >>> 13;
    return hash & this.tableMask;
  }

  private findOrCreate(parent: number, token: number): number {
    const table = this.table;
    let slot = this.slotOf(parent, token);
    for (;;) {
      const entry = table[slot];
      if (entry === 0) break;
      const base = (entry - 1) * NODE_STRIDE;
      if (this.nodes[base + TOKEN] === token && this.nodes[base + PARENT] === parent) return entry - 1;
      slot = (slot + 1) & this.tableMask;
    }
    if (this.nodeCount >= this.nodeCapacity) this.growNodes();
    const node = this.nodeCount++;
    const nodes = this.nodes;
    const base = node * NODE_STRIDE;
    const parentBase = parent * NODE_STRIDE;
    nodes[base + PARENT] = parent;
    nodes[base + TOKEN] = token;
    nodes[base + DEPTH] = nodes[parentBase + DEPTH] + 1;
    const afterFileStart = parent === ROOT ? token === BEGIN_OF_FILE : nodes[parentBase + AFTER_FILE_START] === 1;
    nodes[base + AFTER_FILE_START] = afterFileStart ? 1 : 0;
    nodes[base + NEXT_SIBLING] = nodes[parentBase + FIRST_CHILD];
    nodes[parentBase + FIRST_CHILD] = node + 1;
    if (this.nodeCount * 2 > this.tableMask + 1) this.growTable();
    else table[slot] = node + 1;
    return node;
  }

  private growNodes(): void {
    const bigger = new Int32Array(this.nodeCapacity * 2 * NODE_STRIDE);
    bigger.set(this.nodes);
    this.nodes = bigger;
    this.nodeCapacity *= 2;
  }

  /** Rehashes every node into a table twice as large (including the node just created). */
  private growTable(): void {
    const slots = (this.tableMask + 1) * 2;
    const table = new Int32Array(slots);
    this.table = table;
    this.tableMask = slots - 1;
    const nodes = this.nodes;
    for (let node = 1; node < this.nodeCount; node++) {
      let slot = this.slotOf(nodes[node * NODE_STRIDE + PARENT], nodes[node * NODE_STRIDE + TOKEN]);
      while (table[slot] !== 0) slot = (slot + 1) & this.tableMask;
      table[slot] = node + 1;
    }
  }
}

/** `buckets` indexes the once/twice/more tallies, which lie next to each other. */
function moveBucket(nodes: Int32Array, buckets: number, before: number, after: number): void {
  if (before > 0) nodes[buckets + (before < 3 ? before - 1 : 2)]--;
  if (after > 0) nodes[buckets + (after < 3 ? after - 1 : 2)]++;
}

function moveCountOfCount(table: Float64Array, order: number, before: number, after: number): void {
  const base = order * COUNTS_OF_COUNTS_WIDTH;
  if (before >= 1 && before <= 4) table[base + before]--;
  if (after >= 1 && after <= 4) table[base + after]++;
}
