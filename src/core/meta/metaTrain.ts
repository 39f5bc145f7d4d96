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
  const loop = new OuterLoop(learner, initial, tasks, options, sink);
  while (loop.next()) {
    // Synchronous: nothing else runs between steps.
  }
  return loop.finish();
}

/**
 * {@link metaTrain} for a thread that must stay responsive (the worker):
 * between outer steps it awaits `between()`, which yields to the event loop
 * and is where a caller pauses (by not resolving) or cancels (through the
 * signal). The same seed gives the same result as `metaTrain`.
 */
export async function metaTrainAsync<State>(
  learner: MetaLearner<State>,
  initial: State,
  tasks: readonly MetaTask[],
  options: MetaTrainOptions,
  between: () => Promise<void>,
  sink?: MetaTrainSink,
): Promise<MetaTrainResult<State>> {
  const loop = new OuterLoop(learner, initial, tasks, options, sink);
  try {
    for (;;) {
      await between();
      if (!loop.next()) break;
    }
  } catch (error) {
    learner.disposeState(loop.finish().state);
    throw error;
  }
  return loop.finish();
}

/** The outer loop's state between steps, shared by the synchronous and asynchronous drivers. */
class OuterLoop<State> {
  private readonly random: SeededRandom;
  private readonly batchSize: number;
  private state: State;
  private readonly metaLosses: number[] = [];
  private cancelled = false;

  constructor(
    private readonly learner: MetaLearner<State>,
    initial: State,
    private readonly tasks: readonly MetaTask[],
    private readonly options: MetaTrainOptions,
    private readonly sink: MetaTrainSink | undefined,
  ) {
    this.random = new SeededRandom(options.seed);
    this.batchSize = Math.min(options.metaBatch, tasks.length);
    this.state = learner.cloneState(initial);
  }

  /** Runs one outer step; false when the loop is over (all steps done, or cancelled). */
  next(): boolean {
    const step = this.metaLosses.length + 1;
    if (step > this.options.outerSteps) return false;
    if (this.options.signal?.aborted) {
      this.cancelled = true;
      return false;
    }
    const batch = shuffledIndices(this.tasks.length, this.random)
      .slice(0, this.batchSize)
      .map((index) => this.tasks[index]);
    const result = this.learner.outerStep(this.state, batch, this.options);
    this.learner.disposeState(this.state);
    this.state = result.state;
    this.metaLosses.push(result.metaLoss);
    this.sink?.({ type: 'outer-step', step, metaLoss: result.metaLoss, taskNames: batch.map((task) => task.name) });
    return true;
  }

  finish(): MetaTrainResult<State> {
    const steps = this.metaLosses.length;
    this.sink?.({ type: 'done', steps, cancelled: this.cancelled });
    return { state: this.state, steps, cancelled: this.cancelled, metaLosses: this.metaLosses };
  }
}
