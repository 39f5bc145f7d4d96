import { TaskGraph } from '../graph/taskGraph';
import type { TaskGraphOptions } from '../graph/taskGraph';
import { FileCacheModel } from '../ngram/cacheModel';
import { DirectoryLocality, TaskGraphLocality } from '../ngram/locality';
import type { GraphLocalityOptions, LocalityProvider } from '../ngram/locality';
import { LearnedMixing, MixingSamples, fitMixing } from '../ngram/learnedMixing';
import type { FitOptions, MixingParameters } from '../ngram/learnedMixing';
import { MixtureDistribution, inverseConfidenceMixing } from '../ngram/mixture';
import type { MixingPolicy } from '../ngram/mixture';
import { NestedModel } from '../ngram/nestedModel';
import { DEFAULT_ORDER, END_OF_FILE, NgramModel } from '../ngram/ngramModel';
import type { NgramModelOptions, Smoothing } from '../ngram/ngramModel';
import { predictFrom } from '../ngram/tokenModel';
import type { TokenDistribution } from '../ngram/tokenModel';
import type { CorpusFile } from '../text/corpus';
import { Vocabulary } from '../text/vocabulary';
import { MRR_CUTOFF, MetricAccumulator, RankAccumulator, isIdentifier } from './metrics';
import type { MetricSummary, RankSummary } from './metrics';

/**
 * `ngram`: one n-gram model. `cache`: that model mixed with a file cache.
 * `nested`: directory nesting + cache. `graph-nested`: task-graph nesting + cache.
 */
export type EvaluationModel = 'ngram' | 'cache' | 'nested' | 'graph-nested';

/**
 * PROTOCOL.md's settings. `static`: trained on TRAIN only, no adaptation (no
 * cache; nested levels hold TRAIN files only). `cache`: static plus the test
 * file's prefix. `project`: every other file (TRAIN and the other TEST files,
 * never the current one) plus the prefix.
 */
export type EvaluationSetting = 'static' | 'cache' | 'project';

export interface EvaluationOptions {
  model: EvaluationModel;
  setting: EvaluationSetting;
  order?: number;
  smoothing?: Smoothing;
  /** Extra options of the project model (the only one of `ngram`), e.g. a JM λ. */
  ngram?: Omit<NgramModelOptions, 'order' | 'smoothing'>;
  /** Options of the file cache level, when they differ from the project model's. */
  cache?: NgramModelOptions;
  /** Options of the locality levels, when they differ from the project model's. */
  localityLevels?: NgramModelOptions;
  /**
   * How levels are mixed: `fitted` (default) fits per-context mixing weights
   * on TRAIN files, leave-one-out, in the same setting, then scores TEST with
   * them; `confidence` is SLP-Core's fixed confidence mixing; or a policy.
   */
  mixing?: 'fitted' | 'confidence' | MixingPolicy;
  /** `fitted` only: TRAIN tokens (at most) scored to fit the weights; files are taken evenly. Default 200,000. */
  fitTokens?: number;
  /** Sees every scored position, e.g. to print per-token figures. */
  onPosition?: (position: ScoredPosition) => void;
  /**
   * Also ranks every position the way SLP-Core's batch mode does, reported
   * apart as `slpBatch`: only for comparing with SLP-Core's published MRR,
   * never a figure of ours, because it reads the test file ahead.
   *
   * What SLP-Core does (src/main/java/slp/core/modeling/mix/MixModel.java):
   * batch `predict(input)` first runs each side's `predict` over the whole
   * file, so the dynamic cache learns every token of it in that pass; then
   * `mix(input, index, res1, res2)` scores each candidate that only one side
   * proposed with the other side's `modelToken(input, index)`, and for the
   * cache that is a cache which has read the whole file, the token being
   * predicted and everything after it included. Its entropy path (`model` /
   * `modelToken` position by position) does not leak.
   *
   * What is emulated, at each position: the candidates are the union of each
   * level's own top-10; a candidate the cache level proposes is scored by the
   * usual leak-free mixture; any other gets the cache level's probability and
   * confidence (hence its mixing weight) from a copy of the cache level that
   * has read the whole current file and its end-of-file symbol, the other
   * levels unchanged; the 10 best are ranked. The candidate set matters: also
   * letting in the cache's candidates beyond its top-10, scored by the leaked
   * copy, lifts rxjs nested+cache (project setting, SLP-Core's configuration)
   * from 0.807 to 0.841.
   *
   * The usual figures are computed exactly as without the option. Without a
   * cache level that adapts (the `ngram` model, the static setting) nothing
   * leaks, and `slpBatch` equals the leak-free MRR and top-1.
   */
  slpBatchMrr?: boolean;
  graph?: TaskGraphOptions;
  graphLocality?: GraphLocalityOptions;
}

export interface ScoredPosition {
  relPath: string;
  /** Token index in the file; `tokens.length` is the end-of-file symbol. */
  index: number;
  token: string;
  probability: number;
  escapeProbability: number;
  /** 0-based rank in the top-10 list, -1 when absent. */
  rank: number;
}

export interface EvaluationResult extends MetricSummary {
  model: EvaluationModel;
  setting: EvaluationSetting;
  /** TEST files scored. */
  files: number;
  identifiers: MetricSummary;
  /** With `slpBatchMrr` only: MRR and top-1 under SLP-Core's leaky batch-mode ranking. */
  slpBatch?: RankSummary;
  /** Wall time of the whole run, training included. */
  ms: number;
}

const DEFAULT_FIT_TOKENS = 200_000;

/** One way of scoring a test file position by position. */
interface FileScorer {
  open(path: string): void;
  distribution(context: Int32Array): TokenDistribution;
  /** The true token, once scored; returns its id (-1 when the setting may not learn it). */
  observe(token: string): number;
  close(path: string): void;
  /** Options of the file cache level, when the scorer has one (for the `slpBatchMrr` whole-file copy). */
  cacheOptions?: NgramModelOptions;
}

/**
 * Scores every TEST file of `files` under PROTOCOL.md: each token and one
 * end-of-file symbol per file get −log2 p from a distribution normalised over
 * the vocabulary plus an escape slot, and the same distribution's top-10 gives
 * MRR and top-1. A token the models have never seen gets the escape slot's
 * probability, which is SLP-Core's uniform share for a new token. Identifier
 * figures cover identifier tokens only (see `isIdentifier`: reserved words
 * excluded). The vocabulary holds what the models have learned: TRAIN tokens,
 * plus every file's in the project setting, plus each prefix as the cache
 * learns it.
 *
 * Leaks are ruled out by construction (`slpBatch` aside): the models learn
 * the current file only through its prefix (the cache sees a token after it
 * is scored), the project setting forgets the current file (models, levels
 * and task graph) before scoring it and relearns it after, and locality may
 * use only the path and the prefix (see TaskGraphLocality).
 *
 * On SLP-Core's anchors: its entropies are reproduced (JM λ = 0.5, confidence
 * mixing: static 3.250, cache 2.705 against 3.253 and 2.695), but its MRR for
 * cache models is not comparable: in batch mode, MixModel scores the global
 * model's candidates with a cache that has already read the whole test file.
 * `slpBatchMrr` emulates that ranking, reported apart: with SLP-Core's
 * configuration it turns our cache model's MRR 0.716 into 0.788 (SLP-Core:
 * 0.789) and nested+cache's, project setting, 0.730 into 0.807 (SLP-Core:
 * 0.809). MRR itself is always leak-free.
 */
export function evaluate(files: readonly CorpusFile[], options: EvaluationOptions): EvaluationResult {
  const started = performance.now();
  const sorted = sortedNonEmpty(files);
  const testFiles = sorted.filter((file) => file.split === 'test');
  const knownFiles = options.setting === 'project' ? sorted : sorted.filter((file) => file.split === 'train');
  const mixing = resolveMixing(sorted, options);
  const all = new MetricAccumulator();
  const identifiers = new MetricAccumulator();
  const slpBatch = options.slpBatchMrr === true ? new RankAccumulator() : undefined;
  const visit: PositionVisitor = (file, index, distribution, trueId, vocabulary, leakyRanking) => {
    const probability = distribution.probability(trueId);
    const rank = rankOf(distribution, vocabulary, trueId);
    all.add(probability, rank);
    slpBatch?.add(leakyRanking === undefined ? rank : leakyRanking.rank(trueId));
    const token = index < file.tokens.length ? file.tokens[index] : END_OF_FILE;
    if (index < file.tokens.length && isIdentifier(token, file.relPath)) identifiers.add(probability, rank);
    options.onPosition?.({
      relPath: file.relPath,
      index,
      token,
      probability,
      escapeProbability: distribution.escapeProbability,
      rank,
    });
  };
  scoreFiles(knownFiles, testFiles, { ...options, mixing }, visit);
  return {
    model: options.model,
    setting: options.setting,
    files: testFiles.length,
    ...all.summary(),
    identifiers: identifiers.summary(),
    ...(slpBatch === undefined ? {} : { slpBatch: slpBatch.summary() }),
    ms: performance.now() - started,
  };
}

/**
 * Fits the nested model's mixing weights on TRAIN files only: each TRAIN file
 * is scored leave-one-out (the model knows the other TRAIN files, and the file's
 * prefix through the cache), and the weights that maximise the likelihood of
 * its tokens are kept. TEST files are never read.
 */
export function fitMixingOnTrain(
  files: readonly CorpusFile[],
  options: EvaluationOptions,
  fitOptions: FitOptions = {},
): MixingParameters {
  const trainFiles = sortedNonEmpty(files).filter((file) => file.split === 'train');
  const targets = evenSample(trainFiles, options.fitTokens ?? DEFAULT_FIT_TOKENS);
  const samples = new MixingSamples(options.order ?? DEFAULT_ORDER);
  const collecting = { ...options, mixing: inverseConfidenceMixing, onPosition: undefined, slpBatchMrr: false };
  scoreFiles(trainFiles, targets, collecting, (_file, _index, distribution, trueId) => {
    if (distribution instanceof MixtureDistribution) {
      samples.record(distribution.components, distribution.kinds, distribution.contextClass, trueId);
    }
  });
  return fitMixing(samples, fitOptions);
}

/** The true token's 0-based rank in the distribution's top 10 (MRR's list), -1 when absent or unknown. */
export function rankOf(distribution: TokenDistribution, vocabulary: Vocabulary, trueId: number): number {
  if (trueId < 0) return -1;
  return predictFrom(distribution, vocabulary, '', MRR_CUTOFF).findIndex((prediction) => prediction.id === trueId);
}

/**
 * Scores `targetFiles` position by position with a count-based model that
 * knows `knownFiles` (in the project setting, targets must be among them: each
 * is forgotten while it is scored), and hands every position's distribution
 * to `visit`. The distribution is valid during the call only. This is how
 * models built on top of the n-gram (the neural hand-over, the gate) are
 * scored under the same protocol. With `slpBatchMrr`, `visit` also gets the
 * position's SLP-Core batch-mode ranking view (see `SlpBatchRanking`).
 */
export function scorePositions(
  knownFiles: readonly CorpusFile[],
  targetFiles: readonly CorpusFile[],
  options: EvaluationOptions,
  visit: PositionVisitor,
): void {
  const known = sortedNonEmpty(knownFiles);
  const mixing = resolveMixing(known, options);
  scoreFiles(known, sortedNonEmpty(targetFiles), { ...options, mixing }, visit);
}

export type PositionVisitor = (
  file: CorpusFile,
  index: number,
  distribution: TokenDistribution,
  trueId: number,
  vocabulary: Vocabulary,
  /** With `slpBatchMrr`, where a cache level can leak: the position as SLP-Core's batch mode ranks it. */
  leakyRanking: SlpBatchRanking | undefined,
) => void;

/**
 * `scorePositions`, but it awaits `betweenFiles` before each target file and
 * stops when that answers false (cancelled): a long scoring run in a thread
 * that must hear pause and cancel. True when every file was scored.
 * `uncountedTokens` join the vocabulary with no counts (a neural model's
 * classes that the known files lack, as the engine's completer adds them).
 */
export async function scorePositionsBetweenFiles(
  knownFiles: readonly CorpusFile[],
  targetFiles: readonly CorpusFile[],
  options: EvaluationOptions,
  visit: PositionVisitor,
  betweenFiles: () => Promise<boolean>,
  uncountedTokens: readonly string[] = [],
): Promise<boolean> {
  const known = sortedNonEmpty(knownFiles);
  const scoreFile = fileScoring(known, { ...options, mixing: resolveMixing(known, options) }, visit, uncountedTokens);
  for (const file of sortedNonEmpty(targetFiles)) {
    if (!(await betweenFiles())) return false;
    scoreFile(file);
  }
  return true;
}

/** Scores each target file position by position (index = tokens.length is the end-of-file symbol). */
function scoreFiles(
  knownFiles: readonly CorpusFile[],
  targetFiles: readonly CorpusFile[],
  options: EvaluationOptions & { mixing: MixingPolicy },
  visit: PositionVisitor,
): void {
  const scoreFile = fileScoring(knownFiles, options, visit);
  for (const file of targetFiles) scoreFile(file);
}

/** The model over `knownFiles`, built once, and how one target file is scored against it. */
function fileScoring(
  knownFiles: readonly CorpusFile[],
  options: EvaluationOptions & { mixing: MixingPolicy },
  visit: PositionVisitor,
  uncountedTokens: readonly string[] = [],
): (file: CorpusFile) => void {
  const adapts = options.setting !== 'static';
  const vocabulary = new Vocabulary();
  const ngramOptions: NgramModelOptions = { ...options.ngram, order: options.order, smoothing: options.smoothing };
  const idsByPath = new Map<string, Int32Array>();
  for (const file of knownFiles) idsByPath.set(file.relPath, vocabulary.internAll(file.tokens));
  vocabulary.internAll(uncountedTokens);
  const scorer =
    options.model === 'ngram'
      ? plainScorer(vocabulary, ngramOptions, knownFiles, idsByPath, adapts)
      : nestedScorer(vocabulary, ngramOptions, options, knownFiles, idsByPath, adapts);
  const endOfFile = vocabulary.intern(END_OF_FILE);
  const wholeFile =
    options.slpBatchMrr === true && adapts && scorer.cacheOptions !== undefined
      ? new WholeFileCache(vocabulary, scorer.cacheOptions, endOfFile)
      : undefined;
  return (file) => {
    scorer.open(file.relPath);
    wholeFile?.open(file.tokens);
    const tokens = file.tokens;
    const context = new Int32Array(tokens.length + 1);
    for (let i = 0; i <= tokens.length; i++) {
      const distribution = scorer.distribution(context.subarray(0, i));
      const trueId = i < tokens.length ? vocabulary.idOf(tokens[i]) : endOfFile;
      const leaky = wholeFile === undefined ? undefined : slpBatchRanking(distribution, wholeFile.distribution(context.subarray(0, i)), options.mixing, vocabulary);
      visit(file, i, distribution, trueId, vocabulary, leaky);
      if (i < tokens.length) {
        const observed = scorer.observe(tokens[i]);
        context[i] = observed >= 0 ? observed : vocabulary.idOf(tokens[i]);
      }
    }
    scorer.close(file.relPath);
  };
}

function resolveMixing(files: readonly CorpusFile[], options: EvaluationOptions): MixingPolicy {
  const mixing = options.mixing ?? 'fitted';
  if (mixing === 'confidence' || options.model === 'ngram') return inverseConfidenceMixing;
  if (mixing === 'fitted') return new LearnedMixing(fitMixingOnTrain(files, options));
  return mixing;
}

/** Files spread evenly over the sorted list, up to about `tokenBudget` tokens. */
function evenSample(files: readonly CorpusFile[], tokenBudget: number): CorpusFile[] {
  const total = files.reduce((sum, file) => sum + file.tokens.length, 0);
  if (total <= tokenBudget) return [...files];
  const stride = total / tokenBudget;
  const chosen: CorpusFile[] = [];
  let next = 0;
  let seen = 0;
  for (const file of files) {
    if (seen >= next) {
      chosen.push(file);
      next += stride * file.tokens.length;
    }
    seen += file.tokens.length;
  }
  return chosen;
}

function sortedNonEmpty(files: readonly CorpusFile[]): CorpusFile[] {
  return files.filter((file) => file.tokens.length > 0).sort((a, b) => compareStrings(a.relPath, b.relPath));
}

function plainScorer(
  vocabulary: Vocabulary,
  ngramOptions: NgramModelOptions,
  knownFiles: readonly CorpusFile[],
  idsByPath: ReadonlyMap<string, Int32Array>,
  adapts: boolean,
): FileScorer {
  const model = new NgramModel(vocabulary, ngramOptions);
  for (const file of knownFiles) model.learn(file.relPath, idsByPath.get(file.relPath) as Int32Array);
  let openPath = '';
  return {
    open(path) {
      model.forget(path);
      openPath = path;
    },
    distribution: (context) => model.distribution(context),
    // Without a cache level, adapting means counting the prefix into the model itself.
    observe(token) {
      if (!adapts) return -1;
      const id = vocabulary.intern(token);
      model.extend(openPath, id);
      return id;
    },
    close(path) {
      model.forget(path);
      const ids = idsByPath.get(path);
      if (ids !== undefined) model.learn(path, ids);
    },
  };
}

function nestedScorer(
  vocabulary: Vocabulary,
  ngramOptions: NgramModelOptions,
  options: EvaluationOptions & { mixing: MixingPolicy },
  knownFiles: readonly CorpusFile[],
  idsByPath: ReadonlyMap<string, Int32Array>,
  adapts: boolean,
): FileScorer {
  let graph: TaskGraph | undefined;
  let locality: LocalityProvider | undefined;
  if (options.model === 'nested') locality = new DirectoryLocality();
  if (options.model === 'graph-nested') {
    graph = TaskGraph.build(
      knownFiles.map((file) => ({ path: file.relPath, tokens: file.tokens })),
      options.graph,
    );
    locality = new TaskGraphLocality(graph, options.graphLocality);
  }
  const withOrder = (levelOptions: NgramModelOptions | undefined): NgramModelOptions | undefined =>
    levelOptions === undefined ? undefined : { order: options.order, ...levelOptions };
  const model = new NestedModel(vocabulary, locality, {
    ...ngramOptions,
    cache: withOrder(options.cache),
    locality: withOrder(options.localityLevels),
    mixing: options.mixing,
  });
  for (const file of knownFiles) model.learn(file.relPath, idsByPath.get(file.relPath) as Int32Array);
  const tokensByPath = new Map(knownFiles.map((file) => [file.relPath, file.tokens]));
  return {
    // Leave-one-out: the current file leaves the project model, every level and the graph.
    open(path) {
      model.forget(path);
      graph?.remove(path);
      model.openFile(path);
    },
    distribution: (context) => model.distribution(context),
    observe: (token) => (adapts ? model.observe(token) : -1),
    close(path) {
      const ids = idsByPath.get(path);
      const tokens = tokensByPath.get(path);
      if (ids !== undefined) model.learn(path, ids);
      if (tokens !== undefined) graph?.upsert(path, tokens);
    },
    // The `slpBatchMrr` whole-file copy must count exactly as the model's cache level does.
    cacheOptions: model.cacheOptions,
  };
}

/**
 * One position of an n-gram mixture as SLP-Core's batch mode ranks it (see
 * `slpBatchMrr`): the candidates are each level's own top-10; a candidate the
 * cache level proposes keeps its leak-free probability, any other is scored
 * by the mixture whose cache level has read the whole file. Leaky by design,
 * for comparison with SLP-Core's published MRR only.
 */
export interface SlpBatchRanking {
  /** The candidates SLP-Core's batch mode ranks at this position. */
  readonly candidates: ReadonlySet<number>;
  /** The probability SLP-Core's batch mode ranks `id` by. */
  probability(id: number): number;
  /** The true token's 0-based rank in the top-10 of `candidates`, -1 when absent. */
  rank(trueId: number): number;
}

/** `undefined` when nothing can leak: no mixture, or no cache level. */
function slpBatchRanking(
  distribution: TokenDistribution,
  wholeFileCache: TokenDistribution,
  mixing: MixingPolicy,
  vocabulary: Vocabulary,
): SlpBatchRanking | undefined {
  if (!(distribution instanceof MixtureDistribution) || distribution.kinds[0] !== 'cache') return undefined;
  const components = distribution.components;
  const ownTop = (component: TokenDistribution): number[] =>
    predictFrom(component, vocabulary, '', MRR_CUTOFF).map((prediction) => prediction.id);
  const cacheProposals = new Set(ownTop(components[0]));
  const candidates = new Set(cacheProposals);
  for (let i = 1; i < components.length; i++) for (const id of ownTop(components[i])) candidates.add(id);
  const leakedComponents = [wholeFileCache, ...components.slice(1)];
  const leakedWeights = mixing.weigh(leakedComponents, distribution.kinds, distribution.contextClass);
  const leaked = new MixtureDistribution(leakedComponents, leakedWeights, distribution.kinds, distribution.contextClass);
  const probability = (id: number): number => (cacheProposals.has(id) ? distribution.probability(id) : leaked.probability(id));
  return { candidates, probability, rank: (trueId) => rankAmong(candidates, probability, trueId) };
}

/** The true token's 0-based rank among the 10 most probable `candidates` (ties by id), -1 when absent. */
export function rankAmong(candidates: Iterable<number>, probability: (id: number) => number, trueId: number): number {
  if (trueId < 0) return -1;
  const scored = [...candidates].map((id) => ({ id, probability: probability(id) }));
  scored.sort((a, b) => b.probability - a.probability || a.id - b.id);
  return scored.slice(0, MRR_CUTOFF).findIndex((candidate) => candidate.id === trueId);
}

/** Far beyond any real vocabulary, so a provisional id never meets a real one. */
const PROVISIONAL_ID_BASE = 1 << 30;

/**
 * The cache level after reading the whole current file and its end-of-file
 * symbol, for `slpBatchMrr` only. Tokens the vocabulary does not hold yet get
 * provisional ids, so the leak-free figures' vocabulary is never touched; once
 * the prefix interns one, the file is recounted with its real id.
 */
class WholeFileCache {
  private readonly cache: FileCacheModel;
  private tokens: readonly string[] = [];
  private countedAtVocabularySize = -1;

  constructor(
    private readonly vocabulary: Vocabulary,
    cacheOptions: NgramModelOptions,
    private readonly endOfFile: number,
  ) {
    this.cache = new FileCacheModel(vocabulary, cacheOptions);
  }

  open(tokens: readonly string[]): void {
    this.tokens = tokens;
    this.countedAtVocabularySize = -1;
  }

  distribution(context: Int32Array): TokenDistribution {
    if (this.countedAtVocabularySize !== this.vocabulary.size) this.recount();
    return this.cache.distribution(context);
  }

  private recount(): void {
    const provisional = new Map<string, number>();
    const ids = new Int32Array(this.tokens.length + 1);
    for (let i = 0; i < this.tokens.length; i++) {
      const token = this.tokens[i];
      let id = this.vocabulary.idOf(token);
      if (id < 0) {
        id = provisional.get(token) ?? PROVISIONAL_ID_BASE + provisional.size;
        provisional.set(token, id);
      }
      ids[i] = id;
    }
    ids[this.tokens.length] = this.endOfFile;
    this.cache.learn('whole file', ids);
    this.countedAtVocabularySize = this.vocabulary.size;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
