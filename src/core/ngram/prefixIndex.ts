import type { Vocabulary } from '../text/vocabulary';

/**
 * Vocabulary ids sorted by token string, so the tokens that start with a typed
 * prefix are one contiguous range found by binary search. Rebuilt lazily when
 * the vocabulary has grown.
 */
export class PrefixIndex {
  private sortedIds = new Int32Array(0);
  private sortedTokens: string[] = [];

  constructor(private readonly vocabulary: Vocabulary) {}

  /** Ids whose token starts with `prefix` (any order); all ids for an empty prefix. */
  idsStartingWith(prefix: string): Int32Array {
    this.refresh();
    if (prefix === '') return this.sortedIds;
    const start = this.lowerBound(prefix);
    let end = start;
    const tokens = this.sortedTokens;
    while (end < tokens.length && tokens[end].startsWith(prefix)) end++;
    return this.sortedIds.subarray(start, end);
  }

  private lowerBound(prefix: string): number {
    let low = 0;
    let high = this.sortedTokens.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sortedTokens[middle] < prefix) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private refresh(): void {
    const size = this.vocabulary.size;
    if (size === this.sortedIds.length) return;
    const ids = Array.from({ length: size }, (_, id) => id);
    const tokens = ids.map((id) => this.vocabulary.tokenOf(id));
    ids.sort((a, b) => (tokens[a] < tokens[b] ? -1 : tokens[a] > tokens[b] ? 1 : 0));
    this.sortedIds = Int32Array.from(ids);
    this.sortedTokens = ids.map((id) => tokens[id]);
  }
}

const indexes = new WeakMap<Vocabulary, PrefixIndex>();

/** One shared index per vocabulary, since every model over it filters the same strings. */
export function prefixIndexOf(vocabulary: Vocabulary): PrefixIndex {
  let index = indexes.get(vocabulary);
  if (index === undefined) {
    index = new PrefixIndex(vocabulary);
    indexes.set(vocabulary, index);
  }
  return index;
}
