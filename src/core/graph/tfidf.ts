import { hashString } from './hashing';

/**
 * Longer literals (templates, docstrings) are nearly always unique to one
 * file: they share nothing with other files and only dilute the norm.
 */
export const MAX_FEATURE_LENGTH = 64;

/**
 * The default feature test: identifiers, keywords and string literals (and
 * prefixed Python strings, which start with a letter). Numbers, operators,
 * punctuation and regex literals carry little topical signal. Keywords are
 * kept on purpose: where they are everywhere their idf is ~0, and where they
 * are not (`class`, `async`, `yield`) they say something about the file.
 */
export function isFeatureToken(token: string): boolean {
  if (token.length === 0 || token.length > MAX_FEATURE_LENGTH) return false;
  const first = token.charCodeAt(0);
  return (
    (first >= 65 && first <= 90) || // A-Z
    (first >= 97 && first <= 122) || // a-z
    first === 95 || // _
    first === 36 || // $
    first === 39 || // '
    first === 34 || // "
    first === 96 // `
  );
}

/** Sublinear term frequency: a name used 100 times is not 100x more telling. */
export function sublinearTermFrequency(count: number): number {
  return count > 0 ? 1 + Math.log(count) : 0;
}

/**
 * Smoothed idf that reaches ~0 for a feature present in every document
 * (ln(1 + 1/N)) and ln(N + 1) for a feature in one document.
 */
export function inverseDocumentFrequency(documentFrequency: number, documentCount: number): number {
  return Math.log((documentCount + 1) / Math.max(documentFrequency, 1));
}

/** A document's features (ascending ids) with their raw counts. */
export interface FeatureCounts {
  readonly featureIds: Int32Array;
  readonly counts: Int32Array;
}

/** A sparse L2-normalised vector: `weights[i]` belongs to `featureIds[i]`. */
export interface SparseVector {
  readonly featureIds: Int32Array;
  readonly weights: Float64Array;
}

/**
 * Features of a token list that is only queried, never stored: known features
 * by id, and features the index has never seen by string, so that asking does
 * not grow the index.
 */
export interface QueryFeatureCounts extends FeatureCounts {
  readonly unknownCounts: ReadonlyMap<string, number>;
}

/**
 * Interns features and keeps, per feature, the documents that contain it
 * (posting lists). Document frequency is the length of that list, so it stays
 * current as single documents are added or removed, and the lists double as
 * the inverted index the neighbour search falls back on.
 */
export class FeatureIndex {
  /** -1 marks tokens already known not to be features, so the test runs once per string. */
  private readonly idByToken = new Map<string, number>();
  private readonly hashById: number[] = [];
  private readonly documentsById: number[][] = [];
  private scratchCounts = new Int32Array(1024);

  constructor(
    private readonly hashSeed: number,
    private readonly isFeature: (token: string) => boolean = isFeatureToken,
  ) {}

  get featureCount(): number {
    return this.hashById.length;
  }

  /** A seeded 32-bit hash of the feature string, stable across documents. */
  hashOf(featureId: number): number {
    return this.hashById[featureId];
  }

  hashOfToken(token: string): number {
    return hashString(token, this.hashSeed);
  }

  documentFrequency(featureId: number): number {
    return this.documentsById[featureId].length;
  }

  /** Document slots containing the feature, in no particular order (not a copy). */
  documentsWith(featureId: number): readonly number[] {
    return this.documentsById[featureId];
  }

  /** The id of `token` when it is a known feature, else -1. */
  idOf(token: string): number {
    return this.idByToken.get(token) ?? -1;
  }

  /** Counts the features of a document, interning new ones. */
  countFeatures(tokens: readonly string[]): FeatureCounts {
    const touched: number[] = [];
    for (const token of tokens) {
      let id = this.idByToken.get(token);
      if (id === undefined) id = this.intern(token);
      if (id < 0) continue;
      if (this.scratchCounts[id]++ === 0) touched.push(id);
    }
    return this.collectCounts(touched);
  }

  /** Counts the features of a token list without interning anything. */
  countQueryFeatures(tokens: readonly string[]): QueryFeatureCounts {
    const touched: number[] = [];
    const unknownCounts = new Map<string, number>();
    for (const token of tokens) {
      const id = this.idByToken.get(token);
      if (id === undefined) {
        if (this.isFeature(token)) unknownCounts.set(token, (unknownCounts.get(token) ?? 0) + 1);
        continue;
      }
      if (id < 0) continue;
      if (this.scratchCounts[id]++ === 0) touched.push(id);
    }
    return { ...this.collectCounts(touched), unknownCounts };
  }

  addDocument(slot: number, featureIds: Int32Array): void {
    for (let i = 0; i < featureIds.length; i++) this.documentsById[featureIds[i]].push(slot);
  }

  removeDocument(slot: number, featureIds: Int32Array): void {
    for (let i = 0; i < featureIds.length; i++) {
      const documents = this.documentsById[featureIds[i]];
      const at = documents.lastIndexOf(slot);
      if (at < 0) continue;
      // Order inside a posting list does not matter, so swap-remove is fine.
      documents[at] = documents[documents.length - 1];
      documents.pop();
    }
  }

  /**
   * TF-IDF weights for `counts`, L2-normalised, and the norm they were
   * divided by. `extraSquaredNorm` accounts for features that are part of the
   * document but have no id (a query's unseen names), so the cosine is the
   * one the document would really have.
   */
  weigh(
    counts: FeatureCounts,
    documentCount: number,
    extraSquaredNorm = 0,
  ): { vector: SparseVector; norm: number } {
    const { featureIds } = counts;
    const weights = new Float64Array(featureIds.length);
    let squaredNorm = extraSquaredNorm;
    for (let i = 0; i < featureIds.length; i++) {
      const weight =
        sublinearTermFrequency(counts.counts[i]) *
        inverseDocumentFrequency(this.documentsById[featureIds[i]].length, documentCount);
      weights[i] = weight;
      squaredNorm += weight * weight;
    }
    const norm = Math.sqrt(squaredNorm);
    if (norm > 0) for (let i = 0; i < weights.length; i++) weights[i] /= norm;
    return { vector: { featureIds, weights }, norm };
  }

  private intern(token: string): number {
    if (!this.isFeature(token)) {
      this.idByToken.set(token, -1);
      return -1;
    }
    const id = this.hashById.length;
    this.idByToken.set(token, id);
    this.hashById.push(hashString(token, this.hashSeed));
    this.documentsById.push([]);
    if (id >= this.scratchCounts.length) {
      const grown = new Int32Array(this.scratchCounts.length * 2);
      grown.set(this.scratchCounts);
      this.scratchCounts = grown;
    }
    return id;
  }

  /** Reads and clears the scratch counters of `touched`. */
  private collectCounts(touched: number[]): FeatureCounts {
    const featureIds = Int32Array.from(touched).sort();
    const counts = new Int32Array(featureIds.length);
    for (let i = 0; i < featureIds.length; i++) {
      counts[i] = this.scratchCounts[featureIds[i]];
      this.scratchCounts[featureIds[i]] = 0;
    }
    return { featureIds, counts };
  }
}

/** Cosine of two L2-normalised sparse vectors by merging their sorted ids. */
export function cosineSimilarity(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  while (i < a.featureIds.length && j < b.featureIds.length) {
    const idA = a.featureIds[i];
    const idB = b.featureIds[j];
    if (idA === idB) sum += a.weights[i++] * b.weights[j++];
    else if (idA < idB) i++;
    else j++;
  }
  return sum;
}
