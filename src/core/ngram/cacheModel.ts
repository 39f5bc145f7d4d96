import type { Vocabulary } from '../text/vocabulary';
import { NgramModel } from './ngramModel';
import type { NgramDistribution, NgramModelOptions } from './ngramModel';
import { DistributionModel } from './tokenModel';
import type { TokenContext } from './tokenModel';

/**
 * The file cache: n-gram counts of the current file's prefix only, reset when
 * another file starts. Code repeats itself most within a file (the same
 * identifiers, the same call shapes), which is what this level captures.
 */
export class FileCacheModel extends DistributionModel<NgramDistribution> {
  private readonly counts: NgramModel;
  private currentFile: string | undefined;
  private observedCount = 0;

  constructor(vocabulary: Vocabulary, options: NgramModelOptions = {}) {
    super(vocabulary);
    this.counts = new NgramModel(vocabulary, options);
    this.startFile();
  }

  get order(): number {
    return this.counts.order;
  }

  /** Tokens of the current file seen so far. */
  get length(): number {
    return this.observedCount;
  }

  get byteSize(): number {
    return this.counts.trie.byteSize;
  }

  /** Forgets the previous file: the cache now holds an empty prefix of `fileId`. */
  startFile(fileId?: string): void {
    this.counts.trie.clear();
    this.counts.trie.beginStream();
    this.currentFile = fileId;
    this.observedCount = 0;
  }

  /** Adds the next token of the current file. */
  observe(token: number): void {
    this.counts.trie.appendToStream(token);
    this.observedCount++;
  }

  /** Makes `tokens` the cached prefix of file `fileId`. */
  override learn(fileId: string, tokens: ArrayLike<number>): void {
    this.startFile(fileId);
    for (let i = 0; i < tokens.length; i++) this.observe(tokens[i]);
  }

  override forget(fileId: string): void {
    if (fileId === this.currentFile) this.startFile();
  }

  override distribution(context: TokenContext): NgramDistribution {
    return this.counts.distribution(context);
  }

}
