import { TaskGraph } from '../graph/taskGraph';
import { CountTrie } from '../ngram/countTrie';
import { DirectoryLocality, TaskGraphLocality } from '../ngram/locality';
import { NestedModel } from '../ngram/nestedModel';
import type { NestedModelOptions } from '../ngram/nestedModel';
import { DEFAULT_ORDER } from '../ngram/ngramModel';
import type { CorpusFile } from '../text/corpus';
import { Vocabulary } from '../text/vocabulary';
import { isIdentifier } from './metrics';

export interface CountingThroughput {
  files: number;
  tokens: number;
  order: number;
  repeats: number;
  /** Median tokens/s learning every file into a new trie, allocation included. */
  coldTokensPerSecond: number;
  /** Median tokens/s learning every file again into a cleared trie (memory already allocated). */
  warmTokensPerSecond: number;
  /** Median tokens/s forgetting every file. */
  forgetTokensPerSecond: number;
  /** The same n-grams counted in one Map<string, number>, in the same run. */
  baselineName: string;
  baselineTokensPerSecond: number;
}

/**
 * Counting speed of CountTrie (each token updates `order` n-grams and their
 * smoothing statistics), median of `repeats`, beside a plain Map counter.
 */
export function measureCountingThroughput(
  files: readonly CorpusFile[],
  options: { order?: number; repeats?: number } = {},
): CountingThroughput {
  const order = options.order ?? DEFAULT_ORDER;
  const repeats = options.repeats ?? 5;
  const vocabulary = new Vocabulary();
  const sequences = files.map((file) => vocabulary.internAll(file.tokens));
  const tokens = sequences.reduce((sum, ids) => sum + ids.length, 0);
  const cold: number[] = [];
  const warm: number[] = [];
  const forget: number[] = [];
  const reused = new CountTrie(order);
  for (let repeat = 0; repeat < repeats; repeat++) {
    const fresh = new CountTrie(order);
    cold.push(tokens / timeSeconds(() => sequences.forEach((ids, i) => fresh.learn(String(i), ids))));
    forget.push(tokens / timeSeconds(() => sequences.forEach((_ids, i) => fresh.forget(String(i)))));
    reused.clear();
    if (repeat === 0) sequences.forEach((ids, i) => reused.learn(String(i), ids));
    reused.clear();
    warm.push(tokens / timeSeconds(() => sequences.forEach((ids, i) => reused.learn(String(i), ids))));
  }
  const baseline: number[] = [];
  for (let repeat = 0; repeat < Math.min(repeats, 3); repeat++) {
    baseline.push(tokens / timeSeconds(() => countWithMap(sequences, order)));
  }
  return {
    files: files.length,
    tokens,
    order,
    repeats,
    coldTokensPerSecond: median(cold),
    warmTokensPerSecond: median(warm),
    forgetTokensPerSecond: median(forget),
    baselineName: 'Map<string, number> keyed by the joined n-gram ids',
    baselineTokensPerSecond: median(baseline),
  };
}

/** The obvious n-gram counter, for comparison. */
function countWithMap(sequences: readonly Int32Array[], order: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ids of sequences) {
    for (let end = 0; end < ids.length; end++) {
      let key = '';
      for (let length = 1; length <= order && end - length + 1 >= 0; length++) {
        key = length === 1 ? String(ids[end]) : `${ids[end - length + 1]},${key}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
  }
  return counts;
}

export interface PredictLatency {
  calls: number;
  k: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  locality: 'graph' | 'directory';
}

/**
 * Time of one `predict(context, typedPrefix, k)` on the nested model in the
 * project setting, at real positions of the TEST files: the model knows
 * every other file, the file's prefix is in its cache, and at an identifier
 * the user has typed its first character (the prefix filter), elsewhere nothing.
 */
export function measurePredictLatency(
  files: readonly CorpusFile[],
  options: { k?: number; maxCalls?: number; locality?: 'graph' | 'directory'; model?: NestedModelOptions } = {},
): PredictLatency {
  const k = options.k ?? 10;
  const maxCalls = options.maxCalls ?? 5000;
  const localityKind = options.locality ?? 'graph';
  const vocabulary = new Vocabulary();
  const known = files.filter((file) => file.tokens.length > 0);
  const graph =
    localityKind === 'graph'
      ? TaskGraph.build(known.map((file) => ({ path: file.relPath, tokens: file.tokens })))
      : undefined;
  const locality = graph !== undefined ? new TaskGraphLocality(graph) : new DirectoryLocality();
  const model = new NestedModel(vocabulary, locality, options.model);
  const idsByPath = new Map(known.map((file) => [file.relPath, vocabulary.internAll(file.tokens)]));
  for (const [path, ids] of idsByPath) model.learn(path, ids);
  const testFiles = known.filter((file) => file.split === 'test');
  const totalPositions = testFiles.reduce((sum, file) => sum + file.tokens.length, 0);
  const stride = Math.max(1, Math.floor(totalPositions / maxCalls));
  const times: number[] = [];
  let position = 0;
  for (const file of testFiles) {
    const ids = idsByPath.get(file.relPath) as Int32Array;
    model.forget(file.relPath);
    graph?.remove(file.relPath);
    model.openFile(file.relPath);
    for (let i = 0; i < file.tokens.length; i++, position++) {
      if (position % stride === 0 && times.length < maxCalls) {
        const token = file.tokens[i];
        const typed = isIdentifier(token, file.relPath) ? token.slice(0, 1) : '';
        const context = ids.subarray(0, i);
        const started = performance.now();
        model.predict(context, typed, k);
        times.push(performance.now() - started);
      }
      model.observe(file.tokens[i]);
    }
    model.learn(file.relPath, ids);
    graph?.upsert(file.relPath, file.tokens);
  }
  times.sort((a, b) => a - b);
  return {
    calls: times.length,
    k,
    medianMs: quantile(times, 0.5),
    p95Ms: quantile(times, 0.95),
    maxMs: times.length > 0 ? times[times.length - 1] : 0,
    locality: localityKind,
  };
}

function timeSeconds(work: () => void): number {
  const started = performance.now();
  work();
  return Math.max(performance.now() - started, 1e-3) / 1000;
}

function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** `sorted` ascending; nearest-rank quantile. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
