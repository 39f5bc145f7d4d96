import { countTokens } from '../neural/batches';
import type { LmBatch } from '../neural/batches';
import { disposeState } from '../neural/lstm';
import type { LstmState, ParamMap } from '../neural/lstm';
import { SeededRandom } from '../neural/random';
import { SgdOptimizer, trainMapStep } from '../neural/train';
import type { MapOptimizer } from '../neural/train';
import { adaptWithCurve, runInnerLoop, sgdUpdate } from './innerLoop';
import type { AdaptCurveResult } from './innerLoop';
import { paramMapLearner, requireTasks } from './learner';
import type { MetaLearner, OuterStepOptions, OuterStepResult } from './learner';
import { cloneParams, disposeMap, lossAndGrads, meanLoss, meanParams } from './paramMaps';
import type { BatchStream } from './paramMaps';
import type { MetaTask } from './tasks';

/**
 * The transfer-learning baseline every meta-learner must beat: pre-train one
 * model jointly on all TRAIN files, then fine-tune it on a file with the same
 * k-step SGD inner loop the meta-learners use.
 */

export interface PretrainOptions {
  epochs: number;
  /** An optimiser (kept by the caller, e.g. Adam), or a plain SGD learning rate. */
  optimizer: MapOptimizer | number;
  /** Global gradient-norm clip per step. Default 5. */
  clipNorm?: number;
  /** Seeds the order of the streams in each epoch. */
  seed: number;
  /** Receives the token-weighted mean training loss of every epoch. */
  onEpoch?: (epoch: number, loss: number) => void;
  /** Checked between streams; training stops early with what it has. */
  signal?: AbortSignal;
}

/** Every stream of every task (support and query): the joint training data. */
export function trainingStreams(tasks: readonly MetaTask[]): BatchStream[] {
  return tasks.flatMap((task) => [...task.support, ...task.query]);
}

/**
 * Joint training over `streams` (truncated BPTT, the state carried along each
 * stream), in a seeded order per epoch. Returns new parameters.
 */
export function pretrain(params: ParamMap, streams: readonly BatchStream[], options: PretrainOptions): ParamMap {
  const optimizer = typeof options.optimizer === 'number' ? new SgdOptimizer(options.optimizer) : options.optimizer;
  const random = new SeededRandom(options.seed);
  let current = cloneParams(params);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    let weightedLoss = 0;
    let tokens = 0;
    for (const index of shuffledIndices(streams.length, random)) {
      if (options.signal?.aborted) return current;
      const run = new StreamTrainer(current, optimizer, options.clipNorm);
      for (const batch of streams[index]) run.step(batch);
      current = run.finish();
      weightedLoss += run.weightedLoss;
      tokens += run.tokens;
    }
    options.onEpoch?.(epoch, tokens > 0 ? weightedLoss / tokens : 0);
  }
  return current;
}

/**
 * Consecutive training steps along one stream (truncated BPTT: the LSTM
 * state carried from batch to batch), keeping the token-weighted loss. It
 * owns the parameters it is given and hands back the last ones from `finish`.
 */
export class StreamTrainer {
  private state: LstmState | undefined;
  weightedLoss = 0;
  tokens = 0;

  constructor(
    private params: ParamMap,
    private readonly optimizer: MapOptimizer,
    private readonly clipNorm?: number,
  ) {}

  step(batch: LmBatch): void {
    const result = trainMapStep(this.params, batch, this.optimizer, { state: this.state, clipNorm: this.clipNorm });
    disposeMap(this.params);
    disposeState(this.state);
    this.params = result.params;
    this.state = result.state;
    const count = countTokens(batch);
    this.weightedLoss += result.loss * count;
    this.tokens += count;
  }

  /** The parameters after the last step (the caller owns them); the state is dropped. */
  finish(): ParamMap {
    disposeState(this.state);
    this.state = undefined;
    return this.params;
  }
}

/** Fine-tuning = the inner loop: k SGD steps on the support set, with the query loss after each. */
export function fineTune(params: ParamMap, task: MetaTask, options: { steps: number; lr: number }): AdaptCurveResult {
  return adaptWithCurve(params, task.support, task.query, options);
}

/**
 * Joint training as a step of the outer loop, so the baseline runs under the
 * same driver and reports the same meta-loss as the meta-learners:
 * θ ← θ − β·mean_τ ∇L_τ(θ) over all streams of each task, β = `outerLr`.
 * The meta-loss is still the query loss after `innerSteps` of fine-tuning
 * (rate `innerLr`), measured only.
 */
export function transferStep(
  params: ParamMap,
  tasks: readonly MetaTask[],
  options: OuterStepOptions,
): OuterStepResult<ParamMap> {
  requireTasks(tasks, 'Transfer');
  const taskGrads: ParamMap[] = [];
  let queryLoss = 0;
  try {
    for (const task of tasks) {
      taskGrads.push(lossAndGrads(params, [...task.support, ...task.query]).grads);
      const phi = runInnerLoop(params, task.support, { steps: options.innerSteps, lr: options.innerLr }).params;
      queryLoss += meanLoss(phi, task.query).loss;
      disposeMap(phi);
    }
    const meanGrad = meanParams(taskGrads);
    const next = sgdUpdate(params, meanGrad, options.outerLr);
    disposeMap(meanGrad);
    return { state: next, metaLoss: queryLoss / tasks.length };
  } finally {
    taskGrads.forEach(disposeMap);
  }
}

export const transferLearner: MetaLearner<ParamMap> = paramMapLearner('transfer', transferStep);

/** A seeded permutation of 0..count−1 (Fisher–Yates). */
export function shuffledIndices(count: number, random: SeededRandom): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = random.nextInt(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
