import { UNK_CLASS } from '../neural/batches';
import { END_OF_FILE } from '../ngram/ngramModel';
import { compareCodePoints } from '../text/corpus';
import { UNK_TOKEN } from './model';

/**
 * The LSTM's output classes: `<unk>` at class 0, then the `size − 1` most
 * frequent tokens of the training files (each file also counts one
 * end-of-file symbol, so the model learns where files end), by descending
 * count, ties in code-point order so the choice is deterministic.
 */
export function buildClassTokens(files: readonly { tokens: readonly string[] }[], size: number): string[] {
  if (!Number.isInteger(size) || size < 2) throw new RangeError(`The class vocabulary needs at least 2 classes, got ${size}.`);
  const counts = new Map<string, number>();
  for (const file of files) {
    for (const token of file.tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    counts.set(END_OF_FILE, (counts.get(END_OF_FILE) ?? 0) + 1);
  }
  counts.delete(UNK_TOKEN);
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
  return [UNK_TOKEN, ...ranked.slice(0, size - 1).map(([token]) => token)];
}

/** Token → class for a class list from {@link buildClassTokens}. */
export function classIndexOf(classTokens: readonly string[]): Map<string, number> {
  if (classTokens[UNK_CLASS] !== UNK_TOKEN) throw new Error(`Class ${UNK_CLASS} must be ${UNK_TOKEN}; the class list is not a MetaComplete one.`);
  const index = new Map<string, number>();
  classTokens.forEach((token, c) => {
    if (c === UNK_CLASS) return;
    if (index.has(token)) throw new Error(`Token ${JSON.stringify(token)} has two classes; the class list is corrupt.`);
    index.set(token, c);
  });
  return index;
}

/** A file's class ids, its end-of-file symbol last (length `tokens.length + 1`). */
export function fileClassIds(tokens: readonly string[], index: ReadonlyMap<string, number>): Int32Array {
  const ids = new Int32Array(tokens.length + 1);
  for (let i = 0; i < tokens.length; i++) ids[i] = index.get(tokens[i]) ?? UNK_CLASS;
  ids[tokens.length] = index.get(END_OF_FILE) ?? UNK_CLASS;
  return ids;
}

/**
 * How many of a file's `length` class ids (end-of-file included) are support:
 * `fraction` of them, at most `maxTokens`, and at least 1 so the query always
 * has a context.
 */
export function supportLength(length: number, fraction: number, maxTokens: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`Support fraction must lie in [0, 1], got ${fraction}.`);
  return Math.max(1, Math.min(Math.round(fraction * length), maxTokens, length - 1));
}
