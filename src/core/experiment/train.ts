import * as tf from '@tensorflow/tfjs-core';
import type { TaskGraph } from '../graph/taskGraph';
import { makeBatches } from '../neural/batches';
import type { BatchShape, LmBatch } from '../neural/batches';
import { disposeState, flattenParams, forward, initLstmParams, tieParams, unflattenParams, untieParams } from '../neural/lstm';
import { crossEntropyRows } from '../neural/ops';
import type { LstmConfig, LstmState, ParamMap } from '../neural/lstm';
import { SeededRandom } from '../neural/random';
import { AdamOptimizer } from '../neural/train';
import { adaptWithCurve } from '../meta/innerLoop';
import type { AdaptOptions } from '../meta/innerLoop';
import type { MetaLearner, OuterStepOptions } from '../meta/learner';
import { fomamlLearner } from '../meta/fomaml';
import { createMetaNetworkLearner, initMetaNetworkState, metaNetworkQueryCurve } from '../meta/metaNetwork';
import type { MetaNetworkState } from '../meta/metaNetwork';
import { createMetaSgdLearner, initMetaSgdState, learningRatesOf } from '../meta/metaSgd';
import type { MetaSgdState } from '../meta/metaSgd';
import { metaTrainAsync } from '../meta/metaTrain';
import { estimateMeanSquares } from '../meta/online';
import { cloneParams, disposeMap, mapParams } from '../meta/paramMaps';
import type { BatchStream } from '../meta/paramMaps';
import { reptileLearner } from '../meta/reptile';
import { makeTask } from '../meta/tasks';
import type { MetaTask } from '../meta/tasks';
import { shuffledIndices, StreamTrainer } from '../meta/transfer';
import type { LearnerName, SupportKind, TrainingPhase, TrainingSink } from './events';
import { buildClassTokens, classIndexOf, fileClassIds, supportLength } from './classes';
import type { ModelHyperParameters, TrainedModel } from './model';

/**
 * Meta-training on real code: every file is a task, a model is pre-trained
 * on all of them (the transfer baseline and every learner's starting point),
 * then each learner's outer loop runs from that init. Asynchronous so that a
 * worker stays responsive: it yields between steps, where the caller pauses
 * or cancels.
 */

export interface TrainSettings {
  /** Output classes, `<unk>` included: the K most frequent tokens + 1. */
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  layers: number;
  /** Batch shape of pre-training (lanes × time steps of truncated BPTT). */
  batchSize: number;
  timeSteps: number;
  /** Lanes of a task's support and query batches (time steps as above). */
  taskBatchSize: number;
  pretrainEpochs: number;
  /** Adam learning rate of pre-training. */
  pretrainLr: number;
  /**
   * Pre-train with the softmax tied to the embedding (output kernel `P · Eᵀ`,
   * see `TIED_PROJECTION`), folded back into a plain output kernel when
   * pre-training ends. Needs no particular sizes: `P` is `[hidden, embed]`.
   */
  tieOutput: boolean;
  outerSteps: number;
  metaBatch: number;
  /** Inner steps k of meta-training. */
  innerSteps: number;
  /** Inner SGD rate (and Meta-SGD's initial rates). */
  innerLr: number;
  /** Reptile's ε: how far θ moves toward the adapted parameters per outer step. */
  reptileEpsilon: number;
  /** SGD rate of the outer step of FOMAML and the Meta-Network. */
  outerLr: number;
  /**
   * SGD rate of Meta-SGD's θ. At 0 θ stays the pre-trained one and only the
   * rates are learned: on held-out TRAIN files moving θ cost more before
   * adapting (k = 0) than it gained after.
   */
  metaSgdParamsLr: number;
  /** SGD rate of Meta-SGD's log-rates. */
  metaSgdRateLr: number;
  /** Meta-Network objective α·L_task + β·L_meta. */
  alpha: number;
  beta: number;
  /** Rate of the Meta-Network's FiLM-adapter steps when it is adapted k > 0 steps, unless held-out files choose it (`adapterRates`). */
  adapterLr: number;
  /** Global gradient-norm clip of inner steps. */
  innerClip: number;
  /**
   * Where each task's support set comes from: the file's own first part, or
   * the tokens of its task-graph neighbours (then the whole file is the query).
   */
  support: SupportKind;
  supportFraction: number;
  /** Support tokens of a task (with neighbour supports: shared out among the neighbours). */
  maxSupportTokens: number;
  maxQueryTokens: number;
  dynamicLr: number;
  dynamicDecay: number;
  dynamicSegment: number;
  seed: number;
}

/** Sized for a laptop CPU on the wasm backend: rxjs meta-trains in a few minutes. */
export const DEFAULT_TRAIN_SETTINGS: TrainSettings = {
  vocabSize: 2001,
  embeddingSize: 128,
  hiddenSize: 128,
  layers: 1,
  batchSize: 16,
  timeSteps: 32,
  taskBatchSize: 8,
  pretrainEpochs: 8,
  pretrainLr: 5e-3,
  tieOutput: true,
  outerSteps: 40,
  metaBatch: 4,
  innerSteps: 5,
  innerLr: 1,
  reptileEpsilon: 0.1,
  outerLr: 0.05,
  metaSgdParamsLr: 0,
  metaSgdRateLr: 1000,
  alpha: 1,
  beta: 1,
  adapterLr: 0.03,
  innerClip: 5,
  support: 'prefix',
  supportFraction: 0.5,
  maxSupportTokens: 128,
  maxQueryTokens: 128,
  dynamicLr: 3e-4,
  dynamicDecay: 0.02,
  dynamicSegment: 32,
  seed: 1,
};

/** A file as training sees it. */
export interface TrainingFile {
  path: string;
  tokens: readonly string[];
}

/** What the caller controls while training runs. */
export interface TrainControl {
  /** Checked between steps: training stops there and keeps what it has. */
  signal?: AbortSignal;
  /**
   * Awaited between steps, after yielding to the event loop: a caller pauses
   * training by resolving it only on resume.
   */
  whilePaused?: () => Promise<void>;
}

/** Files turned into class ids and meta-learning tasks. */
export interface PreparedTasks {
  classTokens: string[];
  classIndex: Map<string, number>;
  /** Class ids of every file, end-of-file symbol included. */
  ids: Map<string, Int32Array>;
  tasks: MetaTask[];
}

export function taskShape(settings: TrainSettings): BatchShape {
  return { batchSize: settings.taskBatchSize, timeSteps: settings.timeSteps };
}

/** Class list from `files`, and one prefix task per file (support: its first part, query: what follows). */
export function prepareTasks(files: readonly TrainingFile[], settings: TrainSettings, classTokens?: string[]): PreparedTasks {
  const classes = classTokens ?? buildClassTokens(files, settings.vocabSize);
  const classIndex = classIndexOf(classes);
  const ids = new Map<string, Int32Array>();
  const tasks: MetaTask[] = [];
  for (const file of files) {
    const fileIds = fileClassIds(file.tokens, classIndex);
    ids.set(file.path, fileIds);
    if (fileIds.length < 3) continue;
    const split = supportLength(fileIds.length, settings.supportFraction, settings.maxSupportTokens);
    const cut = fileIds.subarray(0, Math.min(fileIds.length, split + settings.maxQueryTokens));
    tasks.push(makeTask(file.path, cut, { ...taskShape(settings), support: { kind: 'prefixTokens', tokens: split } }));
  }
  return { classTokens: classes, classIndex, ids, tasks };
}

/** Neighbours whose tokens make a file's support set (environment level). */
export const SUPPORT_NEIGHBOURS = 3;

/**
 * A task whose support set is tokens of other files (the task-graph
 * neighbours: `maxSupportTokens` shared out among them, each from its start)
 * and whose query is the file's own first `maxQueryTokens` predictions.
 * Undefined when the file is too short or no neighbour has tokens.
 */
export function neighbourTask(
  path: string,
  ids: ReadonlyMap<string, Int32Array>,
  neighbours: readonly string[],
  settings: TrainSettings,
): MetaTask | undefined {
  const own = ids.get(path);
  if (own === undefined || own.length < 2) return undefined;
  const supports = neighbours
    .filter((neighbour) => neighbour !== path)
    .map((neighbour) => ids.get(neighbour))
    .filter((neighbourIds): neighbourIds is Int32Array => neighbourIds !== undefined && neighbourIds.length >= 2);
  if (supports.length === 0) return undefined;
  const perNeighbour = Math.max(2, Math.floor(settings.maxSupportTokens / supports.length));
  return makeTask(path, own.subarray(0, Math.min(own.length, settings.maxQueryTokens + 1)), {
    ...taskShape(settings),
    support: { kind: 'neighbours', neighbours: supports, maxTokensPerNeighbour: perNeighbour },
  });
}

/**
 * `tasks` with each support set taken from the file's first
 * {@link SUPPORT_NEIGHBOURS} neighbours by `neighboursOf` (most similar
 * first) among `ids`. A file none of whose neighbours has tokens keeps its
 * prefix task, as the product adapts such a file to its own text.
 */
export function withNeighbourSupports(
  tasks: readonly MetaTask[],
  ids: ReadonlyMap<string, Int32Array>,
  neighboursOf: (path: string) => readonly string[],
  settings: TrainSettings,
): { tasks: MetaTask[]; fromNeighbours: number; sources: Map<string, string[]> } {
  let fromNeighbours = 0;
  const sources = new Map<string, string[]>();
  const result = tasks.map((task) => {
    const near = neighboursOf(task.name)
      .filter((path) => path !== task.name && (ids.get(path)?.length ?? 0) >= 2)
      .slice(0, SUPPORT_NEIGHBOURS);
    const replaced = neighbourTask(task.name, ids, near, settings);
    if (replaced === undefined) return task;
    fromNeighbours++;
    sources.set(task.name, near);
    return replaced;
  });
  return { tasks: result, fromNeighbours, sources };
}

/**
 * Replaces the support set of every training and held-out task by tokens of
 * the file's task-graph neighbours in `graph`, built over the files whose
 * tokens may be support (a held-out file's neighbours may be training files
 * and the other way round; the query is always the file's own tokens, never
 * in its support). Returns each task's support files.
 */
export function useNeighbourSupports(
  graph: TaskGraph,
  prepared: PreparedTasks,
  held: PreparedTasks,
  settings: TrainSettings,
  log: (line: string) => void,
): Map<string, string[]> {
  const ids = new Map([...prepared.ids, ...held.ids]);
  const neighboursOf = (path: string): string[] => graph.neighbours(path).map((neighbour) => neighbour.path);
  const training = withNeighbourSupports(prepared.tasks, ids, neighboursOf, settings);
  const heldOut = withNeighbourSupports(held.tasks, ids, neighboursOf, settings);
  prepared.tasks = training.tasks;
  held.tasks = heldOut.tasks;
  log(
    `support sets from task-graph neighbours: ${training.fromNeighbours}/${training.tasks.length} training and ` +
      `${heldOut.fromNeighbours}/${heldOut.tasks.length} held-out tasks (the others have no neighbour and keep their prefix)`,
  );
  return new Map([...training.sources, ...heldOut.sources]);
}

/** Yields to the event loop, honours a pause; false once cancelled. */
export async function between(control: TrainControl | undefined): Promise<boolean> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (control?.whilePaused) await control.whilePaused();
  return !control?.signal?.aborted;
}

function lstmConfigOf(settings: TrainSettings, classCount: number): LstmConfig {
  return {
    vocabSize: classCount,
    embeddingSize: settings.embeddingSize,
    hiddenSize: settings.hiddenSize,
    layers: settings.layers,
  };
}

function state(sink: TrainingSink | undefined, phase: TrainingPhase, learner: LearnerName, step: number, totalSteps: number, message?: string): void {
  sink?.({ type: 'training-state', phase, learner, step, totalSteps, ...(message === undefined ? {} : { message }) });
}

/**
 * Joint pre-training (Adam, truncated BPTT) on every file's whole stream from
 * a seeded random init. Returns new parameters; with the signal aborted it
 * returns what it has.
 */
export async function pretrainModel(
  prepared: PreparedTasks,
  settings: TrainSettings,
  sink?: TrainingSink,
  control?: TrainControl,
): Promise<ParamMap> {
  const config = lstmConfigOf(settings, prepared.classTokens.length);
  const plain = flattenParams(initLstmParams(config, settings.seed));
  let params = settings.tieOutput ? tieParams(plain, settings.seed + 2) : plain;
  const shape: BatchShape = { batchSize: settings.batchSize, timeSteps: settings.timeSteps };
  // One stream of all files in a new seeded order each epoch: files end in
  // the end-of-file symbol, and whole batches keep the matMuls large.
  const files = [...prepared.ids.values()].filter((ids) => ids.length > 1);
  const optimizer = new AdamOptimizer({ learningRate: settings.pretrainLr });
  const random = new SeededRandom(settings.seed + 1);
  const total = files.reduce((sum, ids) => sum + ids.length, 0);
  const batchesPerEpoch = Math.ceil(Math.ceil(Math.max(total - 1, 0) / shape.batchSize) / shape.timeSteps);
  const totalSteps = settings.pretrainEpochs * batchesPerEpoch;
  let done = 0;
  try {
    for (let epoch = 0; epoch < settings.pretrainEpochs; epoch++) {
      const stream = new Int32Array(total);
      let at = 0;
      for (const index of shuffledIndices(files.length, random)) {
        stream.set(files[index], at);
        at += files[index].length;
      }
      const run = new StreamTrainer(params, optimizer, settings.innerClip);
      let stopped = false;
      for (const batch of makeBatches(stream, shape)) {
        if (done % 4 === 0) {
          if (!(await between(control))) {
            stopped = true;
            break;
          }
          state(sink, 'pretraining', 'transfer', done, totalSteps);
        }
        run.step(batch);
        done++;
      }
      params = run.finish();
      if (stopped) return untieParams(params);
      sink?.({ type: 'pretrain-epoch', epoch: epoch + 1, epochs: settings.pretrainEpochs, loss: run.tokens > 0 ? run.weightedLoss / run.tokens : 0 });
    }
    return untieParams(params);
  } finally {
    optimizer.dispose();
  }
}

/** The learner-specific half of meta-training: its state, its outer loop, and what the model keeps. */
interface Recipe<State> {
  learner: MetaLearner<State>;
  init(params: ParamMap): State;
  outer: OuterStepOptions;
  toModel(state: State): Pick<TrainedModel, 'params' | 'lrs' | 'network'>;
}

function recipeFor(name: LearnerName, settings: TrainSettings): Recipe<ParamMap> | Recipe<MetaSgdState> | Recipe<MetaNetworkState> {
  const inner = { innerSteps: settings.innerSteps, innerLr: settings.innerLr };
  const plain = (learner: MetaLearner<ParamMap>, outerLr: number): Recipe<ParamMap> => ({
    learner,
    init: cloneParams,
    outer: { ...inner, outerLr },
    toModel: (params) => ({ params: cloneParams(params) }),
  });
  switch (name) {
    case 'transfer':
      throw new Error('Transfer has no outer loop: its model is the pre-trained one.');
    case 'reptile':
      return plain(reptileLearner, settings.reptileEpsilon);
    case 'fomaml':
      return plain(fomamlLearner, settings.outerLr);
    case 'meta-sgd':
      return {
        learner: createMetaSgdLearner({ lrOuterLr: settings.metaSgdRateLr }),
        init: (params) => initMetaSgdState(params, settings.innerLr),
        outer: { ...inner, outerLr: settings.metaSgdParamsLr },
        toModel: (metaSgd: MetaSgdState) => ({ params: cloneParams(metaSgd.params), lrs: learningRatesOf(metaSgd) }),
      };
    case 'meta-network':
      return {
        learner: createMetaNetworkLearner({ taskWeight: settings.alpha, metaWeight: settings.beta, clipNorm: settings.innerClip }),
        init: (params) => initMetaNetworkState(params, { seed: settings.seed + 7 }),
        outer: { ...inner, outerLr: settings.outerLr },
        toModel: (network: MetaNetworkState) => ({ params: cloneParams(network.params), network: cloneParams(network.network) }),
      };
  }
}

export function hyperOf(settings: TrainSettings): ModelHyperParameters {
  return {
    innerLr: settings.innerLr,
    innerSteps: settings.innerSteps,
    alpha: settings.alpha,
    beta: settings.beta,
    dynamicLr: settings.dynamicLr,
    dynamicDecay: settings.dynamicDecay,
    dynamicSegment: settings.dynamicSegment,
    support: settings.support,
    supportFraction: settings.supportFraction,
    seed: settings.seed,
  };
}

/**
 * Runs one learner's outer loop from the pre-trained θ and packs the result
 * as a model (transfer: θ itself). `meanSquares` (for dynamic evaluation)
 * is copied in. The returned model owns its tensors.
 */
export async function trainLearner(
  name: LearnerName,
  pretrained: ParamMap,
  prepared: PreparedTasks,
  settings: TrainSettings,
  sink?: TrainingSink,
  control?: TrainControl,
): Promise<{ model: TrainedModel; metaLosses: number[]; cancelled: boolean }> {
  const base = {
    learner: name,
    config: lstmConfigOf(settings, prepared.classTokens.length),
    classTokens: [...prepared.classTokens],
    hyper: hyperOf(settings),
  };
  if (name === 'transfer') {
    return { model: { ...base, params: cloneParams(pretrained), provenance: {} }, metaLosses: [], cancelled: false };
  }
  const recipe = recipeFor(name, settings);
  return runRecipe(name, recipe as Recipe<unknown>, base, pretrained, prepared, settings, sink, control);
}

async function runRecipe<State>(
  name: LearnerName,
  recipe: Recipe<State>,
  base: Omit<TrainedModel, 'params' | 'provenance'>,
  pretrained: ParamMap,
  prepared: PreparedTasks,
  settings: TrainSettings,
  sink: TrainingSink | undefined,
  control: TrainControl | undefined,
): Promise<{ model: TrainedModel; metaLosses: number[]; cancelled: boolean }> {
  if (prepared.tasks.length === 0) throw new Error('There are no tasks to meta-train on: index files with at least 3 tokens first.');
  const initial = recipe.init(pretrained);
  try {
    const result = await metaTrainAsync(
      recipe.learner,
      initial,
      prepared.tasks,
      { ...recipe.outer, outerSteps: settings.outerSteps, metaBatch: settings.metaBatch, seed: settings.seed, signal: control?.signal },
      async () => {
        await between(control);
      },
      (event) => {
        if (event.type !== 'outer-step') return;
        sink?.({ type: 'outer-step', learner: name, step: event.step, totalSteps: settings.outerSteps, metaLoss: event.metaLoss, tasks: event.taskNames });
        state(sink, 'meta-training', name, event.step, settings.outerSteps);
      },
    );
    const packed = recipe.toModel(result.state);
    recipe.learner.disposeState(result.state);
    return { model: { ...base, ...packed, provenance: {} }, metaLosses: result.metaLosses, cancelled: result.cancelled };
  } finally {
    recipe.learner.disposeState(initial);
  }
}

/** Mean squared gradients of θ over a sample of the tasks' support sets, for dynamic evaluation. */
export function meanSquaresFor(params: ParamMap, prepared: PreparedTasks, sampleTasks = 32): ParamMap {
  const streams = prepared.tasks.slice(0, sampleTasks).flatMap((task) => task.support);
  const measured = estimateMeanSquares(params, streams);
  // Rows of tokens the sample never saw have a mean square of 0, and the
  // RMS-normalised step would blow up on them: floor every entry at a tenth
  // of its tensor's mean.
  const floored = mapParams(measured, (_, value) => tf.add(value, tf.mul(tf.mean(value), MEAN_SQUARE_FLOOR)));
  disposeMap(measured);
  return floored;
}

/** Share of a tensor's mean squared gradient added to each of its entries (see {@link meanSquaresFor}). */
const MEAN_SQUARE_FLOOR = 0.1;

/**
 * Mean query loss (nats per token) after `steps` inner steps, over `tasks`,
 * for each candidate inner rate: how the fine-tuning rate of the transfer
 * baseline (and the inner rate every learner starts from) is chosen, on
 * held-out TRAIN tasks only.
 */
export function queryLossByRate(params: ParamMap, tasks: readonly MetaTask[], steps: number, rates: readonly number[], clipNorm: number): number[] {
  return rates.map((lr) => {
    let total = 0;
    for (const task of tasks) {
      const options: AdaptOptions = { steps, lr, clipNorm };
      const curve = adaptWithCurve(params, task.support, task.query, options);
      disposeMap(curve.params);
      total += curve.queryLosses[steps];
    }
    return total / Math.max(tasks.length, 1);
  });
}

/** The Meta-Network's loss-vs-k averaged over tasks (adapter steps at `lr`). */
export function metaNetworkLossByRate(model: TrainedModel, tasks: readonly MetaTask[], steps: number, rates: readonly number[]): number[] {
  if (!model.network) throw new Error('This model has no Meta-Network; train the meta-network learner.');
  const networkState: MetaNetworkState = { params: model.params, network: model.network };
  return rates.map((lr) => {
    let total = 0;
    for (const task of tasks) total += metaNetworkQueryCurve(networkState, task, { steps, lr })[steps];
    return total / Math.max(tasks.length, 1);
  });
}

/**
 * Lanes of one batched forward pass of {@link taskQueryLosses}: its logits
 * are lanes × time × vocab floats (7 MB at 32 × 32 × 1,735), and the wasm
 * heap keeps whatever size its largest moment needed until the thread ends.
 */
const LOSS_LANES_PER_CALL = 32;

/**
 * Each task's query loss (nats per token) with parameters `params`, no
 * adaptation: equal to `meanLoss(params, task.query)` per task, but the
 * query streams of many tasks run side by side in one forward pass, so
 * hundreds of tasks cost a few calls. NaN for a task without query tokens.
 */
export function taskQueryLosses(params: ParamMap, tasks: readonly MetaTask[]): number[] {
  const lstm = unflattenParams(params);
  const sums = new Float64Array(tasks.length);
  const counts = new Float64Array(tasks.length);
  // Streams whose batches have the same shapes, one by one, can run as one.
  const groups = new Map<string, { task: number; stream: BatchStream }[]>();
  tasks.forEach((task, index) => {
    for (const stream of task.query) {
      if (stream.length === 0) continue;
      const key = `${stream[0].batchSize}:${stream.map((batch) => batch.timeSteps).join(',')}`;
      const group = groups.get(key) ?? [];
      group.push({ task: index, stream });
      groups.set(key, group);
    }
  });
  for (const group of groups.values()) {
    const lanes = group[0].stream[0].batchSize;
    const perCall = Math.max(1, Math.floor(LOSS_LANES_PER_CALL / lanes));
    for (let start = 0; start < group.length; start += perCall) {
      const chunk = group.slice(start, start + perCall);
      let state: LstmState | undefined;
      for (let b = 0; b < chunk[0].stream.length; b++) {
        const parts = chunk.map((item) => item.stream[b]);
        const batch: LmBatch = {
          batchSize: lanes * parts.length,
          timeSteps: parts[0].timeSteps,
          inputs: concatArrays(parts.map((part) => part.inputs), (n) => new Int32Array(n)),
          targets: concatArrays(parts.map((part) => part.targets), (n) => new Int32Array(n)),
          mask: concatArrays(parts.map((part) => part.mask), (n) => new Float32Array(n)),
        };
        const out = forward(lstm, batch, state);
        disposeState(state);
        state = out.state;
        const laneLosses = tf.tidy(() => {
          const rows = batch.batchSize * batch.timeSteps;
          const logits = tf.reshape(out.logits, [rows, out.logits.shape[2]]) as tf.Tensor2D;
          const { losses } = crossEntropyRows(logits, tf.tensor1d(batch.targets, 'int32'));
          return tf.sum(tf.reshape(tf.mul(losses, tf.tensor1d(batch.mask)), [batch.batchSize, batch.timeSteps]), 1);
        });
        out.logits.dispose();
        const values = laneLosses.dataSync();
        laneLosses.dispose();
        for (let lane = 0; lane < batch.batchSize; lane++) {
          const task = chunk[Math.floor(lane / lanes)].task;
          sums[task] += values[lane];
          for (let t = 0; t < batch.timeSteps; t++) counts[task] += batch.mask[lane * batch.timeSteps + t];
        }
      }
      disposeState(state);
    }
  }
  return tasks.map((_, index) => (counts[index] > 0 ? sums[index] / counts[index] : NaN));
}

/** The parts one after another, in an array of their kind. */
function concatArrays<T extends Int32Array | Float32Array>(parts: readonly T[], make: (length: number) => T): T {
  const result = make(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.length;
  }
  return result;
}
