import * as fs from 'node:fs';
import * as path from 'node:path';
import { seededRandom } from '../../../../src/core/graph/hashing';
import { isFeatureToken } from '../../../../src/core/graph/tfidf';
import type { TaskGraph } from '../../../../src/core/graph/taskGraph';

export interface TokenFile {
  readonly path: string;
  readonly tokens: string[];
  readonly family: number;
}

const COMMON_WORDS = [
  'const', 'return', 'function', 'import', 'export', 'from', 'if', 'this', 'new', 'let',
  'value', 'result', 'index', 'length', 'push', 'map', 'undefined', 'null', 'true', 'false',
];
const PUNCTUATION = ['(', ')', '{', '}', ';', ',', '.', '=', '=>', ':'];

/**
 * Files from `families` topics. Each file mixes words every file uses, its
 * family's vocabulary (Zipf-like, so families have a few dominant names),
 * a sprinkle of names from other families and a few names of its own.
 */
export function syntheticFamilies(options: {
  families: number;
  filesPerFamily: number;
  tokensPerFile?: number;
  seed?: number;
  prefix?: string;
}): TokenFile[] {
  const random = seededRandom(options.seed ?? 7);
  const tokensPerFile = options.tokensPerFile ?? 300;
  const prefix = options.prefix ?? '';
  const vocabulary = (family: number): string[] =>
    Array.from({ length: 40 }, (_, word) => `topic${family}Name${word}`);
  const pickZipf = (words: readonly string[]): string => {
    const rank = Math.floor(words.length ** random()) - 1;
    return words[Math.min(words.length - 1, Math.max(0, rank))];
  };
  const files: TokenFile[] = [];
  for (let family = 0; family < options.families; family++) {
    const own = vocabulary(family);
    for (let file = 0; file < options.filesPerFamily; file++) {
      const tokens: string[] = [];
      for (let i = 0; i < tokensPerFile; i++) {
        const roll = random();
        if (roll < 0.3) tokens.push(COMMON_WORDS[Math.floor(random() * COMMON_WORDS.length)]);
        else if (roll < 0.45) tokens.push(PUNCTUATION[Math.floor(random() * PUNCTUATION.length)]);
        else if (roll < 0.85) tokens.push(pickZipf(own));
        else if (roll < 0.9) tokens.push(pickZipf(vocabulary(Math.floor(random() * options.families))));
        else tokens.push(`local${family}x${file}x${Math.floor(random() * 8)}`);
      }
      files.push({ path: `${prefix}family${family}/file${file}.ts`, tokens, family });
    }
  }
  return files;
}

let rxjsCache: { path: string; tokens: string[] }[] | undefined;

/** rxjs 7's sources, split on anything that is not an identifier character (read once). */
export function rxjsFiles(): { path: string; tokens: string[] }[] {
  rxjsCache ??= readRxjsFiles();
  return rxjsCache;
}

function readRxjsFiles(): { path: string; tokens: string[] }[] {
  const root = path.join(path.dirname(require.resolve('rxjs/package.json')), 'src');
  const found: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) found.push(full);
    }
  };
  walk(root);
  return found.sort().map((file) => ({
    path: path.relative(root, file).split(path.sep).join('/'),
    tokens: fs.readFileSync(file, 'utf8').split(/[^A-Za-z0-9_$]+/).filter((token) => token.length > 0),
  }));
}

/**
 * Reference TF-IDF cosine written independently of the graph code: sublinear
 * tf, idf = ln((N + 1) / df), L2-normalised.
 */
export function referenceCosine(
  corpus: readonly { tokens: readonly string[] }[],
): (a: readonly string[], b: readonly string[]) => number {
  const documentFrequency = new Map<string, number>();
  for (const { tokens } of corpus) {
    for (const token of new Set(tokens.filter(isFeatureToken))) {
      documentFrequency.set(token, (documentFrequency.get(token) ?? 0) + 1);
    }
  }
  const vectorOf = (tokens: readonly string[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const token of tokens) if (isFeatureToken(token)) counts.set(token, (counts.get(token) ?? 0) + 1);
    const vector = new Map<string, number>();
    let squared = 0;
    for (const [token, count] of counts) {
      const weight = (1 + Math.log(count)) * Math.log((corpus.length + 1) / (documentFrequency.get(token) ?? 1));
      vector.set(token, weight);
      squared += weight * weight;
    }
    for (const [token, weight] of vector) vector.set(token, weight / Math.sqrt(squared));
    return vector;
  };
  return (a, b) => {
    const vectorA = vectorOf(a);
    let sum = 0;
    for (const [token, weight] of vectorOf(b)) sum += weight * (vectorA.get(token) ?? 0);
    return sum;
  };
}

/** Fraction of the exact top-k neighbours that the graph's lists hold. */
export function recallAtK(graph: TaskGraph, paths: readonly string[]): number {
  let found = 0;
  let expected = 0;
  for (const file of paths) {
    const exact = graph.exactNeighbours(file);
    const approximate = new Set(graph.neighbours(file).map((neighbour) => neighbour.path));
    expected += exact.length;
    for (const neighbour of exact) if (approximate.has(neighbour.path)) found++;
  }
  return expected === 0 ? 1 : found / expected;
}

export function familyOf(filePath: string): string {
  return filePath.slice(0, filePath.indexOf('/'));
}
