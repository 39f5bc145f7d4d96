import { SeededRandom } from '../neural/random';
import type { MetaLearner, OuterStepOptions } from './learner';
import type { MetaTask } from './tasks';
import { shuffledIndices } from './transfer';

/** Progress of {@link metaTrain}, for the panel and logs (plain data, no UI types). */
export type MetaTrainEvent =
  /** After each outer step; `step` counts from 1. */
  | { type: 'outer-step'; step: number; metaLoss: number; taskNames: string[] }
  /** Once, at the end; `cancelled` when the signal stopped it early. */
  | { type: 'done'; steps: number; cancelled: boolean };

export type MetaTrainSink = (event: MetaTrainEvent) => void;

export interface MetaTrainOptions extends OuterStepOptions {
  outerSteps: number;
  /** Tasks per outer step, drawn without replacement; capped at the number of tasks. */
  metaBatch: number;
  /** Seeds the meta-batch draws; the same seed and inputs give the same result. */
  seed: number;
  /** Checked between outer steps. */
  signal?: AbortSignal;
}

export interface MetaTrainResult<State> {
  /** The final state: new tensors, the caller disposes it (with `learner.disposeState`). */
  state: State;
  /** Outer steps done. */
  steps: number;
  cancelled: boolean;
  /** Meta-loss of each outer step done. */
  metaLosses: number[];
}

/**
 * The outer loop: `outerSteps` times, draw a meta-batch with a seeded
 * generator and apply the learner's outer step. `initial` is left alone.
 */
export function metaTrain<State>(
  learner: MetaLearner<State>,
  initial: State,
  tasks: readonly MetaTask[],
  options: MetaTrainOptions,
  sink?: MetaTrainSink,
): MetaTrainResult<State> {
  if (tasks.length === 0) {
    throw new Error('metaTrain: there are no training tasks; index at least one TRAIN file first.');
  }
  if (!Number.isInteger(options.metaBatch) || options.metaBatch < 1) {
    throw new RangeError(`metaBatch must be a positive integer, got ${options.metaBatch}.`);
  }
  const random = new SeededRandom(options.seed);
  const batchSize = Math.min(options.metaBatch, tasks.length);
  let state = learner.cloneState(initial);
  const metaLosses: number[] = [];
  let cancelled = false;
  for (let step = 1; step <= options.outerSteps; step++) {
    if (options.signal?.aborted) {
      cancelled = true;
      break;
    }
    const batch = shuffledIndices(tasks.length, random)
      .slice(0, batchSize)
      .map((index) => tasks[index]);
    const result = learner.outerStep(state, batch, options);
    learner.disposeState(state);
    state = result.state;
    metaLosses.push(result.metaLoss);
    sink?.({ type: 'outer-step', step, metaLoss: result.metaLoss, taskNames: batch.map((task) => task.name) });
  }
  sink?.({ type: 'done', steps: metaLosses.length, cancelled });
  return { state, steps: metaLosses.length, cancelled, metaLosses };
}
