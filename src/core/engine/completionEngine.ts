import { TaskGraph } from '../graph/taskGraph';
import { beamSearch } from './beamSearch';
import type { BeamModel, BeamOptions, Candidate, LineRules } from './beamSearch';
import type { TaskGraphOptions, TaskGraphSnapshot } from '../graph/taskGraph';
import { TaskGraphLocality } from '../ngram/locality';
import { NestedModel } from '../ngram/nestedModel';
import { predictFrom } from '../ngram/tokenModel';
import type { TokenDistribution } from '../ngram/tokenModel';
import type { NestedModelOptions } from '../ngram/nestedModel';
import { DEFAULT_MAX_FILE_BYTES, failureReason, isSkippedFile, prepareFile } from '../text/corpus';
import { isWordToken, languageKindOf } from '../text/lexer';
import { isSuggestible, secretFreeTokens } from '../text/secrets';
import { Vocabulary } from '../text/vocabulary';

/**
 * Turns the n-gram's distribution at the cursor into the one completions
 * rank (the neural mixture, when a trained model is loaded); `tokens` is the
 * file's text before the cursor, the typed prefix of an identifier removed.
 * Returning undefined keeps the n-gram's.
 */
export type CompletionMixer = (
  path: string,
  tokens: readonly string[],
  ngram: TokenDistribution,
  vocabulary: Vocabulary,
) => TokenDistribution | undefined;

/**
 * The neural side of ghost text for one request: the mixture at the cursor
 * (`root`) and after each beam-search hypothesis, hypotheses growing one
 * token at a time from a parent of the previous call (`expand`, with each
 * hypothesis's n-gram distribution). Undefined keeps the n-gram's. The
 * engine disposes it when the search ends.
 */
export interface ContinuationMixer {
  root(ngram: TokenDistribution): TokenDistribution | undefined;
  expand(hypotheses: readonly { parent: number; token: string }[], ngrams: readonly TokenDistribution[]): (TokenDistribution | undefined)[];
  dispose(): void;
}

export type ContinuationMixerFactory = (path: string, tokens: readonly string[], vocabulary: Vocabulary) => ContinuationMixer | undefined;

export interface CompletionEngineOptions {
  model?: NestedModelOptions;
  graph?: TaskGraphOptions;
  maxFileBytes?: number;
}

export type FileUpdate = { path: string; status: 'learned'; tokens: number } | { path: string; status: 'skipped'; reason: string };

export interface Completion {
  /** The part of the token under the cursor that is already typed; every suggestion starts with it. */
  typedPrefix: string;
  suggestions: { token: string; probability: number }[];
}

/** Ghost text as tokens: the rest of the line the model finds most likely. */
export interface Continuation {
  /** As in Completion: the first token starts with it. */
  typedPrefix: string;
  tokens: string[];
  /** Joint probability of the tokens (0 when there are none). */
  probability: number;
}

/** Tokens of context the n-gram reads (its order is at most this). */
const NGRAM_CONTEXT = 16;

/**
 * What the engine learned, as plain data: enough to learn it again without
 * reading or lexing a file. `tokens` are ids into `vocabulary`.
 */
export interface EngineIndexState {
  vocabulary: string[];
  files: { path: string; stamp?: string; tokens: Int32Array }[];
}

export interface EngineStats {
  files: number;
  tokens: number;
  vocabulary: number;
  modelBytes: number;
  graphEdges: number;
  communities: number;
}

/**
 * The engine's graph re-weights and detects communities as files are learned,
 * a bounded slice per file, so a completion never pays for the whole graph
 * (at 8,600 files a reweight took 1.8 s and fell on whichever completion came
 * next). 4 steps per file keep a files/update batch's share small (a pass
 * over N files then spans N / 2 files learned), so while a workspace grows
 * its weights lag by up to one such pass; completions then rank with slightly
 * stale idf, as they did between two reweights before.
 */
const ENGINE_GRAPH_OPTIONS: TaskGraphOptions = { reweightFilesPerChange: 4 };

const identifierTail = /[A-Za-z0-9_$]$/;
/** Candidates asked for beyond k, so that k remain after the ones that may not be suggested are dropped. */
const UNSUGGESTIBLE_SLACK = 8;

/**
 * The count-based engine behind completions: every workspace file is learned
 * by the graph-nested n-gram model and is a node of the task graph, and the
 * file being edited is the open task whose prefix feeds the file cache.
 * Updating one file re-counts only that file.
 */
export class CompletionEngine {
  private readonly vocabulary = new Vocabulary();
  // Replaced only by a bulk import into an empty engine (see importState).
  private graph: TaskGraph;
  private model: NestedModel;
  private readonly options: CompletionEngineOptions;
  private readonly maxFileBytes: number;
  private readonly tokenCounts = new Map<string, number>();
  /** What the caller said identifies each file's content (e.g. size and mtime), kept for the next session. */
  private readonly stamps = new Map<string, string>();
  private openPath: string | undefined;
  /** Tokens of the open file already given to the cache, in order. */
  private readonly observed: string[] = [];

  constructor(options: CompletionEngineOptions = {}) {
    this.options = { ...options, graph: { ...ENGINE_GRAPH_OPTIONS, ...options.graph } };
    this.graph = new TaskGraph(this.options.graph);
    this.model = new NestedModel(this.vocabulary, new TaskGraphLocality(this.graph), options.model);
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  /**
   * Learns a file's current content, replacing what was learned from it before; bad input is skipped with a reason.
   * `stamp`, if given, is saved with the file by `exportState` so a later session can tell it is unchanged.
   * Never throws for one file: a file that fails to learn is skipped and forgotten, so a batch of files goes on.
   */
  updateFile(path: string, bytes: Uint8Array, stamp?: string): FileUpdate {
    const prepared = prepareFile(path, bytes, this.maxFileBytes);
    if (isSkippedFile(prepared)) {
      this.removeFile(path);
      return { path, status: 'skipped', reason: prepared.reason };
    }
    try {
      this.model.learn(path, this.vocabulary.internAll(prepared.tokens));
      this.graph.upsert(path, prepared.tokens);
    } catch (error) {
      // Its old content is forgotten as for any skipped file, and so is the new if it got into the model.
      this.forget(path);
      return { path, status: 'skipped', reason: failureReason('could not be learned', error) };
    }
    this.tokenCounts.set(path, prepared.tokens.length);
    if (stamp === undefined) this.stamps.delete(path);
    else this.stamps.set(path, stamp);
    if (path === this.openPath) this.closeOpenFile();
    return { path, status: 'learned', tokens: prepared.tokens.length };
  }

  removeFile(path: string): boolean {
    if (!this.tokenCounts.has(path)) return false;
    this.forget(path);
    return true;
  }

  private forget(path: string): void {
    this.tokenCounts.delete(path);
    this.stamps.delete(path);
    this.model.forget(path);
    this.graph.remove(path);
    if (path === this.openPath) this.closeOpenFile();
  }

  /**
   * The k most likely next tokens after `textBefore` (the file's text up to the
   * cursor). A partly typed identifier at the cursor becomes the prefix that
   * every suggestion must extend.
   */
  complete(path: string, textBefore: string, k: number, mix?: CompletionMixer): Completion {
    const { tokens, typedPrefix, context } = this.readCursor(path, textBefore);
    const ngram = this.model.distribution(context);
    const distribution = mix?.(path, tokens, ngram, this.vocabulary) ?? ngram;
    return { typedPrefix, suggestions: this.topAfter(distribution, typedPrefix, k) };
  }

  /**
   * Ghost text: the rest of the line after `textBefore` by beam search over
   * the n-gram (mixed by `mixer` when a model is loaded). Hypotheses are not
   * learned by the file cache: only text the user typed is.
   */
  continueLine(path: string, textBefore: string, rules: Omit<LineRules, 'language'>, options: BeamOptions, mixer?: ContinuationMixerFactory): Continuation {
    const { tokens, typedPrefix, context } = this.readCursor(path, textBefore);
    const neural = mixer?.(path, tokens, this.vocabulary);
    try {
      const width = 2 * options.beamWidth;
      let contexts = [Array.from(context.subarray(Math.max(0, context.length - NGRAM_CONTEXT)))];
      const model: BeamModel = {
        root: () => {
          const ngram = this.model.distribution(Int32Array.from(contexts[0]));
          return this.topAfter(neural?.root(ngram) ?? ngram, typedPrefix, width);
        },
        expand: (hypotheses) => {
          contexts = hypotheses.map(({ parent, token }) => [...contexts[parent], this.vocabulary.idOf(token)].slice(-NGRAM_CONTEXT));
          const ngrams = contexts.map((ids) => this.model.distribution(Int32Array.from(ids)));
          const mixed = neural?.expand(hypotheses, ngrams);
          return ngrams.map((ngram, i): Candidate[] => this.topAfter(mixed?.[i] ?? ngram, '', width));
        },
      };
      const best = beamSearch(model, { ...rules, language: languageKindOf(path) }, options);
      return best === undefined ? { typedPrefix, tokens: [], probability: 0 } : { typedPrefix, tokens: best.tokens, probability: best.probability };
    } finally {
      neural?.dispose();
    }
  }

  /** The file's tokens before the cursor (a typed identifier prefix split off), read into the cache. */
  private readCursor(path: string, textBefore: string): { tokens: string[]; typedPrefix: string; context: Int32Array } {
    // The cache learns what the user typed, so the typed text's secrets are redacted as a file's are.
    const tokens = secretFreeTokens(textBefore, languageKindOf(path));
    let typedPrefix = '';
    const last = tokens[tokens.length - 1];
    if (last !== undefined && identifierTail.test(textBefore) && isWordToken(last) && textBefore.endsWith(last)) {
      typedPrefix = tokens.pop() as string;
    }
    this.observePrefix(path, tokens);
    const context = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) context[i] = this.vocabulary.idOf(tokens[i]);
    return { tokens, typedPrefix, context };
  }

  /**
   * The k most likely tokens that extend `typedPrefix` (not equal to it) and
   * may be suggested (`isSuggestible`): the one filter of both the suggest
   * list and ghost text, which covers a loaded model's class tokens too.
   */
  private topAfter(distribution: TokenDistribution, typedPrefix: string, k: number): { token: string; probability: number }[] {
    return predictFrom(distribution, this.vocabulary, typedPrefix, k + 1 + UNSUGGESTIBLE_SLACK)
      .filter((prediction) => prediction.token !== typedPrefix && isSuggestible(prediction.token))
      .slice(0, k)
      .map(({ token, probability }) => ({ token, probability }));
  }

  /** Every learned file's tokens as text, sorted by path: the tasks meta-training learns from. */
  trainingFiles(): { path: string; tokens: string[] }[] {
    return [...this.tokenCounts.keys()].sort().flatMap((path) => {
      const tokens = this.tokensOf(path);
      return tokens === undefined ? [] : [{ path, tokens }];
    });
  }

  /**
   * The tokens of the learned files nearest in the task graph to `tokens` (a
   * file's current text, learned or not), most similar first; `path` itself
   * is left out. What a model meta-trained on neighbour supports adapts to.
   */
  neighbourTokens(path: string, tokens: readonly string[], count: number): string[][] {
    return this.graph.neighboursOfTokens(tokens, count, path).flatMap((neighbour) => {
      const text = this.tokensOf(neighbour.path);
      return text === undefined ? [] : [text];
    });
  }

  /** A learned file's tokens as text. */
  private tokensOf(path: string): string[] | undefined {
    const ids = this.model.project.tokensOf(path);
    return ids === undefined ? undefined : Array.from(ids, (id) => this.vocabulary.tokenOf(id));
  }

  /**
   * Every learned file's tokens and stamp, with the whole vocabulary in id
   * order: the vocabulary size enters the models' smoothing, so an import of
   * this state predicts exactly as this engine does. The arrays are copies.
   */
  exportState(): EngineIndexState {
    const vocabulary = Array.from({ length: this.vocabulary.size }, (_, id) => this.vocabulary.tokenOf(id));
    const files: EngineIndexState['files'] = [];
    for (const path of [...this.tokenCounts.keys()].sort()) {
      const ids = this.model.project.tokensOf(path);
      if (ids === undefined) throw new Error(`The engine lost the tokens of ${path}; re-index the workspace.`);
      const stamp = this.stamps.get(path);
      files.push(stamp === undefined ? { path, tokens: ids.slice() } : { path, stamp, tokens: ids.slice() });
    }
    return { vocabulary, files };
  }

  /**
   * Learns files from an exported state without reading or lexing them: the
   * same counts and graph as learning their bytes. Files of the same path are
   * replaced, others kept. Into an empty engine the graph is built in bulk,
   * which is several times faster than adding files one by one.
   * Throws, changing nothing, when the state is inconsistent.
   */
  importState(state: EngineIndexState): { files: number; tokens: number } {
    const seen = new Set<string>();
    for (const file of state.files) {
      if (seen.has(file.path)) throw new Error(`The saved index lists ${file.path} twice.`);
      seen.add(file.path);
      if (file.tokens.length === 0) throw new Error(`The saved index has no tokens for ${file.path}.`);
      for (let i = 0; i < file.tokens.length; i++) {
        const id = file.tokens[i];
        if (!(id >= 0 && id < state.vocabulary.length)) throw new Error(`The saved index has an unknown token id in ${file.path}.`);
      }
    }
    const ids = this.vocabulary.internAll(state.vocabulary);
    // Into a fresh engine the saved ids are the engine's ids; otherwise they are mapped.
    let identity = true;
    for (let id = 0; identity && id < ids.length; id++) identity = ids[id] === id;
    const texts = state.files.map((file) => {
      const text = new Array<string>(file.tokens.length);
      for (let i = 0; i < text.length; i++) text[i] = state.vocabulary[file.tokens[i]];
      return text;
    });
    if (this.tokenCounts.size === 0) {
      this.graph = TaskGraph.build(state.files.map((file, index) => ({ path: file.path, tokens: texts[index] })), this.options.graph);
      this.model = new NestedModel(this.vocabulary, new TaskGraphLocality(this.graph), this.options.model);
      this.closeOpenFile();
    } else {
      state.files.forEach((file, index) => this.graph.upsert(file.path, texts[index]));
    }
    let tokens = 0;
    for (const file of state.files) {
      this.model.learn(file.path, identity ? file.tokens : file.tokens.map((id) => ids[id]));
      this.tokenCounts.set(file.path, file.tokens.length);
      if (file.stamp === undefined) this.stamps.delete(file.path);
      else this.stamps.set(file.path, file.stamp);
      if (file.path === this.openPath) this.closeOpenFile();
      tokens += file.tokens.length;
    }
    return { files: state.files.length, tokens };
  }

  /**
   * Adds tokens to the vocabulary, with no counts: a loaded model's output
   * classes, so that every distribution computed from now on covers them
   * (a model trained elsewhere may know tokens this workspace lacks).
   */
  internTokens(tokens: readonly string[]): void {
    for (const token of tokens) this.vocabulary.intern(token);
  }

  snapshot(): TaskGraphSnapshot {
    return this.graph.snapshot();
  }

  stats(): EngineStats {
    let tokens = 0;
    for (const count of this.tokenCounts.values()) tokens += count;
    return {
      files: this.tokenCounts.size,
      tokens,
      vocabulary: this.vocabulary.size,
      modelBytes: this.model.byteSize,
      graphEdges: this.graph.edgeCount(),
      communities: this.graph.communityCount(),
    };
  }

  /** Feeds the cache only the tokens it has not seen; an edit before the end of what it saw restarts the file. */
  private observePrefix(path: string, tokens: readonly string[]): void {
    let same = path === this.openPath && tokens.length >= this.observed.length;
    for (let i = 0; same && i < this.observed.length; i++) same = tokens[i] === this.observed[i];
    if (!same) {
      this.model.openFile(path);
      this.openPath = path;
      this.observed.length = 0;
    }
    for (let i = this.observed.length; i < tokens.length; i++) {
      this.model.observe(tokens[i]);
      this.observed.push(tokens[i]);
    }
  }

  private closeOpenFile(): void {
    this.openPath = undefined;
    this.observed.length = 0;
  }
}
