import { makeBatches } from '../neural/batches';
import type { BatchShape } from '../neural/batches';
import type { BatchStream } from './paramMaps';

/**
 * A meta-learning task is one TRAIN file: the model adapts on its support set
 * and is judged on its query set. Both are lists of batch streams (one per
 * source file), so the LSTM state never runs from one file into another.
 */
export interface MetaTask {
  /** The file's name or path, for logs and the panel. */
  readonly name: string;
  readonly support: readonly BatchStream[];
  readonly query: readonly BatchStream[];
  /**
   * The class ids behind the batches, for scoring by rank (the batches keep
   * only what a loss needs): each support list as cut, and the ids whose
   * positions `queryFrom ..` are the query (those before are context).
   */
  readonly ids?: { readonly support: readonly ArrayLike<number>[]; readonly query: ArrayLike<number>; readonly queryFrom: number };
}

/** Where the support set comes from. */
export type SupportSource =
  /** The first `fraction` (0..1) of the file's tokens, the rest is the query. */
  | { kind: 'prefix'; fraction: number }
  /** The first `tokens` tokens of the file, the rest is the query. */
  | { kind: 'prefixTokens'; tokens: number }
  /**
   * Tokens of the file's task-graph neighbours (chosen by the caller), each
   * cut to at most `maxTokensPerNeighbour`; the whole file is the query.
   */
  | { kind: 'neighbours'; neighbours: readonly ArrayLike<number>[]; maxTokensPerNeighbour?: number };

export interface MakeTaskOptions extends BatchShape {
  support: SupportSource;
}

/**
 * Builds a task from one file's class ids (already mapped by `toClassIds`).
 *
 * With a prefix support of n tokens, support predicts tokens 1..n−1 and the
 * query predicts tokens n.. (its first input is token n−1, shared as context
 * only), so no target is in both sets.
 */
export function makeTask(name: string, classIds: ArrayLike<number>, options: MakeTaskOptions): MetaTask {
  const shape: BatchShape = { batchSize: options.batchSize, timeSteps: options.timeSteps };
  const ids = Array.from(classIds);
  const nonEmpty = (streams: BatchStream[]): BatchStream[] => streams.filter((stream) => stream.length > 0);
  const source = options.support;
  if (source.kind === 'neighbours') {
    const limit = source.maxTokensPerNeighbour ?? Infinity;
    if (!(limit >= 2)) throw new RangeError(`maxTokensPerNeighbour must be at least 2, got ${limit}.`);
    const supportIds = source.neighbours.map((neighbour) => Array.from(neighbour).slice(0, Math.min(limit, neighbour.length)));
    const support = supportIds.map((neighbour) => makeBatches(neighbour, shape));
    return {
      name,
      support: nonEmpty(support),
      query: nonEmpty([makeBatches(ids, shape)]),
      ids: { support: supportIds, query: ids, queryFrom: 1 },
    };
  }
  const split = supportLength(source, ids.length);
  return {
    name,
    support: nonEmpty([makeBatches(ids.slice(0, split), shape)]),
    query: nonEmpty([makeBatches(ids.slice(Math.max(split - 1, 0)), shape)]),
    ids: { support: [ids.slice(0, split)], query: ids, queryFrom: Math.max(split, 1) },
  };
}

function supportLength(source: Exclude<SupportSource, { kind: 'neighbours' }>, length: number): number {
  if (source.kind === 'prefix') {
    if (!(source.fraction >= 0 && source.fraction <= 1)) {
      throw new RangeError(`Support fraction must lie in [0, 1], got ${source.fraction}.`);
    }
    return Math.round(source.fraction * length);
  }
  if (!Number.isInteger(source.tokens) || source.tokens < 0) {
    throw new RangeError(`Support token count must be a non-negative integer, got ${source.tokens}.`);
  }
  return Math.min(source.tokens, length);
}

/** Real prediction positions in a set of streams. */
export function countStreamTokens(streams: readonly BatchStream[]): number {
  let total = 0;
  for (const stream of streams) {
    for (const batch of stream) for (let i = 0; i < batch.mask.length; i++) total += batch.mask[i];
  }
  return total;
}
