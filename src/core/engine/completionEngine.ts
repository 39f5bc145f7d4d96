import { TaskGraph } from '../graph/taskGraph';
import type { TaskGraphOptions, TaskGraphSnapshot } from '../graph/taskGraph';
import { TaskGraphLocality } from '../ngram/locality';
import { NestedModel } from '../ngram/nestedModel';
import type { NestedModelOptions } from '../ngram/nestedModel';
import { DEFAULT_MAX_FILE_BYTES, isSkippedFile, prepareFile } from '../text/corpus';
import { isWordToken, languageKindOf, tokenize } from '../text/lexer';
import { Vocabulary } from '../text/vocabulary';

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

export interface EngineStats {
  files: number;
  tokens: number;
  vocabulary: number;
  modelBytes: number;
  graphEdges: number;
  communities: number;
}

const identifierTail = /[A-Za-z0-9_$]$/;

/**
 * The count-based engine behind completions: every workspace file is learned
 * by the graph-nested n-gram model and is a node of the task graph, and the
 * file being edited is the open task whose prefix feeds the file cache.
 * Updating one file re-counts only that file.
 */
export class CompletionEngine {
  private readonly vocabulary = new Vocabulary();
  private readonly graph: TaskGraph;
  private readonly model: NestedModel;
  private readonly maxFileBytes: number;
  private readonly tokenCounts = new Map<string, number>();
  private openPath: string | undefined;
  /** Tokens of the open file already given to the cache, in order. */
  private readonly observed: string[] = [];

  constructor(options: CompletionEngineOptions = {}) {
    this.graph = new TaskGraph(options.graph);
    this.model = new NestedModel(this.vocabulary, new TaskGraphLocality(this.graph), options.model);
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  }

  /** Learns a file's current content, replacing what was learned from it before; bad input is skipped with a reason. */
  updateFile(path: string, bytes: Uint8Array): FileUpdate {
    const prepared = prepareFile(path, bytes, this.maxFileBytes);
    if (isSkippedFile(prepared)) {
      this.removeFile(path);
      return { path, status: 'skipped', reason: prepared.reason };
    }
    this.model.learn(path, this.vocabulary.internAll(prepared.tokens));
    this.graph.upsert(path, prepared.tokens);
    this.tokenCounts.set(path, prepared.tokens.length);
    if (path === this.openPath) this.closeOpenFile();
    return { path, status: 'learned', tokens: prepared.tokens.length };
  }

  removeFile(path: string): boolean {
    if (!this.tokenCounts.delete(path)) return false;
    this.model.forget(path);
    this.graph.remove(path);
    if (path === this.openPath) this.closeOpenFile();
    return true;
  }

  /**
   * The k most likely next tokens after `textBefore` (the file's text up to the
   * cursor). A partly typed identifier at the cursor becomes the prefix that
   * every suggestion must extend.
   */
  complete(path: string, textBefore: string, k: number): Completion {
    const tokens = tokenize(textBefore, languageKindOf(path));
    let typedPrefix = '';
    if (tokens.length > 0 && identifierTail.test(textBefore) && isWordToken(tokens[tokens.length - 1])) {
      typedPrefix = tokens.pop() as string;
    }
    this.observePrefix(path, tokens);
    const context = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) context[i] = this.vocabulary.idOf(tokens[i]);
    const suggestions = this.model
      .predict(context, typedPrefix, k + 1)
      .filter((prediction) => prediction.token !== typedPrefix)
      .slice(0, k)
      .map(({ token, probability }) => ({ token, probability }));
    return { typedPrefix, suggestions };
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
