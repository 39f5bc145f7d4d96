import type { Vocabulary } from '../text/vocabulary';
import { FileCacheModel } from './cacheModel';
import { isLocalityRefreshLength } from './locality';
import type { LocalityLevel, LocalityProvider } from './locality';
import { MixtureDistribution, contextClassOf, inverseConfidenceMixing } from './mixture';
import type { LevelKind, MixingPolicy } from './mixture';
import { NgramModel } from './ngramModel';
import type { NgramModelOptions } from './ngramModel';
import { DistributionModel } from './tokenModel';
import type { TokenContext, TokenDistribution } from './tokenModel';

/**
 * Small, bursty levels (the cache, a handful of neighbours) do best with
 * Jelinek-Mercer and a per-context Witten-Bell λ, the project model with
 * modified Kneser-Ney: on rxjs, graph-nested/project, 2.361 bits and MRR 0.741
 * against 2.476/0.737 with JM λ = 0.5 everywhere and 2.517/0.733 with MKN
 * everywhere (mixing fitted on TRAIN in each case).
 */
export const DEFAULT_LOCAL_LEVEL_OPTIONS: NgramModelOptions = { smoothing: 'jm', jmLambda: 'witten-bell' };

export interface NestedModelOptions extends NgramModelOptions {
  /** Options of the file cache; DEFAULT_LOCAL_LEVEL_OPTIONS (with the project's order) by default. */
  cache?: NgramModelOptions;
  /** Options of the locality levels; DEFAULT_LOCAL_LEVEL_OPTIONS (with the project's order) by default. */
  locality?: NgramModelOptions;
  /**
   * How the levels' distributions are combined at each context. SLP-Core's
   * confidence mixing by default; weights fitted on the project's own files
   * (`fitMixingOnTrain`) do better, and do not carry over between projects.
   */
  mixing?: MixingPolicy;
  /** Locality models kept for reuse (least recently used go first). Default 8. */
  maxCachedLevels?: number;
  /** Levels with more than this share of the project's files are left out. Default 0.5. */
  maxLevelShare?: number;
}

interface LevelModel {
  key: string;
  kind: string;
  model: NgramModel;
  /** The member files the provider listed; counted are those the project knows. */
  wanted: readonly string[];
  /** Revision of each counted file, so an edited file is recounted. */
  counted: Map<string, number>;
  lastUsed: number;
}

/**
 * SLP-Core's nested model, with a pluggable notion of locality: from the most
 * local level to the most global — the file cache (the open file's prefix),
 * the locality levels (e.g. the file's directory and its parents, or its
 * task-graph neighbours and community), then the project model — mixed at
 * every context by a MixingPolicy.
 *
 * A locality level counts exactly those of its member files that the project
 * model knows, so leave-one-out is `forget(file)` before `openFile(file)`.
 * Level models are cached by key and kept in step with learn/forget by
 * counting or subtracting single files, so opening the next file rarely
 * recounts anything.
 */
export class NestedModel extends DistributionModel<MixtureDistribution> {
  readonly project: NgramModel;
  readonly cache: FileCacheModel;
  /** What the cache level counts with, for a caller that needs a cache counting the same way. */
  readonly cacheOptions: NgramModelOptions;
  private readonly levelOptions: NgramModelOptions;
  private readonly mixing: MixingPolicy;
  private readonly maxCachedLevels: number;
  private readonly maxLevelShare: number;
  private readonly knownFiles = new Set<string>();
  private readonly fileRevisions = new Map<string, number>();
  private knownFilesVersion = 0;
  private readonly levelCache = new Map<string, LevelModel>();
  private readonly spareModels: NgramModel[] = [];
  private activeLevels: LevelModel[] = [];
  private activeKinds: LevelKind[] = ['cache', 'project'];
  private syncedVersion = -1;
  private useClock = 0;
  private openPath: string | undefined;
  private readonly prefix: string[] = [];

  constructor(
    vocabulary: Vocabulary,
    private readonly locality: LocalityProvider | undefined,
    options: NestedModelOptions = {},
  ) {
    super(vocabulary);
    const { cache, locality: localityOptions, mixing, maxCachedLevels, maxLevelShare, ...projectOptions } = options;
    this.project = new NgramModel(vocabulary, projectOptions);
    const local = { ...DEFAULT_LOCAL_LEVEL_OPTIONS, order: projectOptions.order };
    this.levelOptions = { discountsFrom: this.project, ...(localityOptions ?? local) };
    this.cacheOptions = { discountsFrom: this.project, ...(cache ?? local) };
    this.cache = new FileCacheModel(vocabulary, this.cacheOptions);
    this.mixing = mixing ?? inverseConfidenceMixing;
    this.maxCachedLevels = maxCachedLevels ?? 8;
    this.maxLevelShare = maxLevelShare ?? 0.5;
  }

  /** The file being completed, if any. */
  get currentFile(): string | undefined {
    return this.openPath;
  }

  /** Keys of the locality levels in use, most local first. */
  get levelKeys(): string[] {
    return this.activeLevels.map((level) => level.key);
  }

  /** Kinds of every mixed level in use: `cache`, the locality kinds, `project`. */
  get levelKinds(): readonly LevelKind[] {
    return this.activeKinds;
  }

  override learn(fileId: string, tokens: ArrayLike<number>): void {
    this.project.learn(fileId, tokens);
    this.knownFiles.add(fileId);
    this.fileRevisions.set(fileId, this.knownFilesVersion);
    this.knownFilesVersion++;
  }

  override forget(fileId: string): void {
    if (!this.knownFiles.has(fileId)) return;
    this.project.forget(fileId);
    this.knownFiles.delete(fileId);
    this.fileRevisions.delete(fileId);
    this.knownFilesVersion++;
  }

  /**
   * The per-file boundary (SLP-Core's `notify`): empties the cache and picks
   * the locality levels of `path` from its path alone.
   */
  openFile(path: string): void {
    this.openPath = path;
    this.prefix.length = 0;
    this.cache.startFile(path);
    this.chooseLevels();
  }

  /** The next token of the open file: the cache learns it, and locality may be refined. */
  observe(token: string): number {
    const id = this.vocabulary.intern(token);
    this.cache.observe(id);
    this.prefix.push(token);
    if (this.locality !== undefined && isLocalityRefreshLength(this.prefix.length)) this.chooseLevels();
    return id;
  }

  override distribution(context: TokenContext): MixtureDistribution {
    if (this.syncedVersion !== this.knownFilesVersion) this.syncLevels();
    const components: TokenDistribution[] = [this.cache.distribution(context)];
    for (const level of this.activeLevels) components.push(level.model.distribution(context));
    components.push(this.project.distribution(context));
    const previous = context.length > 0 ? context[context.length - 1] : -1;
    const known = previous >= 0 && previous < this.vocabulary.size;
    const previousToken = context.length === 0 ? undefined : known ? this.vocabulary.tokenOf(previous) : '';
    const contextClass = contextClassOf(previousToken);
    const weights = this.mixing.weigh(components, this.activeKinds, contextClass);
    return new MixtureDistribution(components, weights, this.activeKinds, contextClass);
  }


  /** Bytes of counts held by the project, cache and cached locality models. */
  get byteSize(): number {
    let bytes = this.project.trie.byteSize + this.cache.byteSize;
    for (const level of this.levelCache.values()) bytes += level.model.trie.byteSize;
    return bytes;
  }

  private chooseLevels(): void {
    const path = this.openPath;
    if (this.locality === undefined || path === undefined) {
      this.setActive([]);
      return;
    }
    const levels = this.locality.levelsFor({
      path,
      prefix: this.prefix,
      knownFiles: this.knownFiles,
      knownFilesVersion: this.knownFilesVersion,
    });
    // A level holding most of the project says little the project model does not, and costs a copy of it.
    const limit = this.maxLevelShare * this.knownFiles.size;
    const useful = levels.filter((level) => level.files.filter((file) => this.knownFiles.has(file)).length <= limit);
    this.setActive(useful.map((level) => this.levelModelFor(level)));
  }

  private setActive(levels: LevelModel[]): void {
    this.activeLevels = levels;
    this.activeKinds = ['cache', ...levels.map((level): LevelKind => level.kind), 'project'];
    this.syncLevels();
  }

  private levelModelFor(level: LocalityLevel): LevelModel {
    let entry = this.levelCache.get(level.key);
    if (entry === undefined) {
      const model = this.spareModels.pop() ?? new NgramModel(this.vocabulary, this.levelOptions);
      entry = { key: level.key, kind: level.kind, model, wanted: level.files, counted: new Map(), lastUsed: 0 };
      this.levelCache.set(level.key, entry);
    }
    entry.kind = level.kind;
    entry.wanted = level.files;
    entry.lastUsed = ++this.useClock;
    this.evictLevels();
    return entry;
  }

  /**
   * Makes each active level count exactly the current version of its wanted
   * files that the project knows: the open file is left out of every level
   * exactly when the caller has made the project forget it.
   */
  private syncLevels(): void {
    for (const level of this.activeLevels) {
      const model = level.model;
      const wanted = new Set<string>();
      for (const file of level.wanted) if (this.knownFiles.has(file)) wanted.add(file);
      for (const [file, revision] of [...level.counted]) {
        if (!wanted.has(file) || this.fileRevisions.get(file) !== revision) {
          model.forget(file);
          level.counted.delete(file);
        }
      }
      for (const file of wanted) {
        if (level.counted.has(file)) continue;
        const tokens = this.project.tokensOf(file);
        if (tokens === undefined) continue;
        model.learn(file, tokens);
        level.counted.set(file, this.fileRevisions.get(file) ?? 0);
      }
    }
    this.syncedVersion = this.knownFilesVersion;
  }

  private evictLevels(): void {
    if (this.levelCache.size <= this.maxCachedLevels) return;
    const active = new Set(this.activeLevels.map((level) => level.key));
    const byAge = [...this.levelCache.values()].sort((a, b) => a.lastUsed - b.lastUsed);
    for (const entry of byAge) {
      if (this.levelCache.size <= this.maxCachedLevels) break;
      if (active.has(entry.key)) continue;
      this.levelCache.delete(entry.key);
      // Recycled rather than dropped: reusing its memory keeps the heap from fragmenting.
      entry.model.trie.clear();
      this.spareModels.push(entry.model);
    }
  }
}
