import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { makeBatches } from '../neural/batches';
import type { BatchShape, LmBatch } from '../neural/batches';
import { forwardWithFilm, lossWithFilm, pairDense, tanhOp, weightedRowSum } from '../neural/film';
import { unflattenParams } from '../neural/lstm';
import type { LstmState, ParamMap } from '../neural/lstm';
import { dense, embeddingLookup } from '../neural/ops';
import { SeededRandom } from '../neural/random';
import { requireTasks } from './learner';
import { NETWORK_NAMES } from './networkNames';
import type { MetaLearner, OuterStepOptions, OuterStepResult } from './learner';
import {
  cloneParams,
  disposeMap,
  entryOf,
  globalNorm,
  lossAndGrads,
  mapParams,
  meanLoss,
  streamLoss,
  streamLossAndGrads,
} from './paramMaps';
import type { BatchStream } from './paramMaps';
import type { MetaTask } from './tasks';

/**
 * Meta-Network (Munkhdalai & Yu 2017, as the design adapts it): the model
 * adapts to a task in one forward pass instead of by gradient steps.
 *
 * - Meta head (task encoder): every support transition (token, next token)
 *   becomes `tanh(E[token]·A + E[next]·B + b)` with the LSTM's own embedding
 *   rows E; the task embedding is the mean over the support transitions. A
 *   bag of transitions rather than of tokens, because tasks that use the same
 *   tokens in a different order (the toy shift family) differ only there.
 * - Meta tail (hyper-network): one dense layer maps the task embedding to a
 *   FiLM adapter row [γᵢ, βᵢ, γₒ, βₒ] (neural/film.ts): `x' = (1 + γᵢ) ⊙ x + βᵢ`
 *   on the embeddings fed to the LSTM, `h' = (1 + γₒ) ⊙ h + βₒ` on its top
 *   hidden states. Its bias starts at zero and its kernel small, so the
 *   untrained adapter is close to the identity. (Output FiLM alone cannot
 *   turn "token → next token" into a different permutation per task; the
 *   input βᵢ gives the LSTM a task code to compute it from.)
 *
 * Objective per task, `α·L_task + β·L_meta` (α = `taskWeight`, β = `metaWeight`):
 * - `L_task`: the mean LM loss of the base model, without any adapter, on
 *   the task's support and query tokens. It trains the LSTM only and keeps
 *   the un-adapted model (used where no support is known yet) a good LM.
 * - `L_meta`: the mean LM loss on the query set with the adapter generated
 *   from the support set (post-adaptation loss). It trains the LSTM, the
 *   encoder (also through the shared embedding) and the hyper-network.
 * With β = 0 the encoder and hyper-network get no gradient and stay as they
 * are; with α = 0 only the adapted model is trained.
 *
 * Training uses the generated adapter alone (k = 0); {@link adaptMetaNetwork}
 * can add k SGD steps on the FiLM adapter at evaluation.
 */
export interface MetaNetworkState {
  /** The LSTM θ (names as `flattenParams`). */
  params: ParamMap;
  /** Encoder and hyper-network, see {@link NETWORK_NAMES}. */
  network: ParamMap;
}

export interface MetaNetworkInit {
  /** Width of the task embedding. Default 16. */
  taskSize?: number;
  /** Half-width of the uniform init of the hyper-network kernel. Default 0.01 (adapter ≈ identity). */
  hyperScale?: number;
  seed: number;
}

/** A state owning a copy of `params` and a fresh encoder and hyper-network. */
export function initMetaNetworkState(params: ParamMap, init: MetaNetworkInit): MetaNetworkState {
  const embedding = entryOf(params, 'embedding') as Tensor2D;
  const hidden = (entryOf(params, 'output.kernel') as Tensor2D).shape[0];
  const embed = embedding.shape[1];
  const rowSize = 2 * embed + 2 * hidden;
  const taskSize = init.taskSize ?? 16;
  if (!Number.isInteger(taskSize) || taskSize < 1) throw new RangeError(`taskSize must be a positive integer, got ${taskSize}.`);
  const random = new SeededRandom(init.seed);
  const encoderLimit = Math.sqrt(6 / (2 * embed + taskSize));
  const uniform = (rows: number, cols: number, limit: number): Tensor2D =>
    tf.tensor2d(random.uniformArray(rows * cols, limit), [rows, cols]);
  return {
    params: cloneParams(params),
    network: {
      [NETWORK_NAMES.encoderInput]: uniform(embed, taskSize, encoderLimit),
      [NETWORK_NAMES.encoderTarget]: uniform(embed, taskSize, encoderLimit),
      [NETWORK_NAMES.encoderBias]: tf.zeros([taskSize]),
      [NETWORK_NAMES.hyperKernel]: uniform(taskSize, rowSize, init.hyperScale ?? 0.01),
      [NETWORK_NAMES.hyperBias]: tf.zeros([rowSize]),
    },
  };
}

/** Support transitions: `inputs[i]` is followed by `targets[i]`. */
export interface Transitions {
  inputs: Int32Array;
  targets: Int32Array;
}

/** The real (unmasked) transitions of a set of batch streams. */
export function transitionsOf(streams: readonly BatchStream[]): Transitions {
  const inputs: number[] = [];
  const targets: number[] = [];
  for (const stream of streams) {
    for (const batch of stream) {
      for (let i = 0; i < batch.mask.length; i++) {
        if (batch.mask[i] === 0) continue;
        inputs.push(batch.inputs[i]);
        targets.push(batch.targets[i]);
      }
    }
  }
  return { inputs: Int32Array.from(inputs), targets: Int32Array.from(targets) };
}

/** Transitions of consecutive class ids. */
export function transitionsOfTokens(classIds: ArrayLike<number>): Transitions {
  const count = Math.max(classIds.length - 1, 0);
  const inputs = new Int32Array(count);
  const targets = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    inputs[i] = classIds[i];
    targets[i] = classIds[i + 1];
  }
  return { inputs, targets };
}

/**
 * The generated FiLM adapter `[1, 2 * embed + 2 * hidden]` for a task: encoder, mean, hyper-
 * network. Differentiable in `embedding` and the network. With no
 * transitions the task embedding is zero, so the row is the hyper bias.
 */
export function generateAdapter(embedding: Tensor2D, network: ParamMap, transitions: Transitions): Tensor2D {
  return tf.tidy(() => {
    const hyperKernel = entryOf(network, NETWORK_NAMES.hyperKernel, 'Meta-Network') as Tensor2D;
    const hyperBias = entryOf(network, NETWORK_NAMES.hyperBias, 'Meta-Network') as Tensor1D;
    const count = transitions.inputs.length;
    let taskEmbedding: Tensor2D;
    if (count === 0) {
      taskEmbedding = tf.zeros([1, hyperKernel.shape[0]]);
    } else {
      const current = embeddingLookup(embedding, tf.tensor1d(transitions.inputs, 'int32'));
      const next = embeddingLookup(embedding, tf.tensor1d(transitions.targets, 'int32'));
      const perTransition = tanhOp(
        pairDense(
          current,
          next,
          entryOf(network, NETWORK_NAMES.encoderInput, 'Meta-Network') as Tensor2D,
          entryOf(network, NETWORK_NAMES.encoderTarget, 'Meta-Network') as Tensor2D,
          entryOf(network, NETWORK_NAMES.encoderBias, 'Meta-Network') as Tensor1D,
        ),
      );
      taskEmbedding = weightedRowSum(perTransition, tf.fill([count], 1 / count) as Tensor1D);
    }
    return dense(taskEmbedding, hyperKernel, hyperBias);
  });
}

export interface FilmLossAndGrads {
  /** Mean cross-entropy in nats per real token over all streams. */
  loss: number;
  tokens: number;
  /** Gradient with respect to the LSTM parameters; absent with `filmOnly`. */
  grads?: ParamMap;
  /** Gradient with respect to the FiLM adapter, `[1, 2 * embed + 2 * hidden]`. */
  adapterGrad: Tensor2D;
}

/** Key of the FiLM adapter in the map that {@link filmLossAndGrads} differentiates. */
const ADAPTER_KEY = 'film.adapter';

/**
 * Loss and gradients of the token-weighted mean cross-entropy of the
 * FiLM-adapted model over all batches of all streams (truncated BPTT between
 * batches, as `lossAndGrads`). With `filmOnly` the LSTM is held fixed.
 */
export function filmLossAndGrads(
  params: ParamMap,
  adapter: Tensor2D,
  streams: readonly BatchStream[],
  filmOnly = false,
): FilmLossAndGrads {
  const fixed = filmOnly ? unflattenParams(params) : undefined;
  const differentiated: ParamMap = filmOnly ? { [ADAPTER_KEY]: adapter } : { ...params, [ADAPTER_KEY]: adapter };
  const measured = streamLossAndGrads(differentiated, streams, (map, batch, state) =>
    lossWithFilm(fixed ?? unflattenParams(map), entryOf(map, ADAPTER_KEY) as Tensor2D, batch, state),
  );
  const { [ADAPTER_KEY]: adapterGrad, ...grads } = measured.grads;
  return {
    loss: measured.loss,
    tokens: measured.tokens,
    grads: filmOnly ? undefined : grads,
    adapterGrad: adapterGrad as Tensor2D,
  };
}

/** Token-weighted mean cross-entropy of the FiLM-adapted model, without gradients. */
export function meanLossWithFilm(
  params: ParamMap,
  adapter: Tensor2D,
  streams: readonly BatchStream[],
): { loss: number; tokens: number } {
  return streamLoss(unflattenParams(params), streams, (model, batch, state) => lossWithFilm(model, adapter, batch, state));
}

/** The weights of the two terms of the Meta-Network objective. */
export interface MetaNetworkWeights {
  /** α, weight of L_task (base model on support + query). Default 1. */
  taskWeight?: number;
  /** β, weight of L_meta (adapted model on the query). Default 1. */
  metaWeight?: number;
}

export interface MetaNetworkGradients {
  /** L_task, nats per token (measured even when α = 0). */
  taskLoss: number;
  /** L_meta, nats per token (measured even when β = 0). */
  metaLoss: number;
  /** ∂(α·L_task + β·L_meta)/∂θ. */
  paramsGrad: ParamMap;
  /** ∂(α·L_task + β·L_meta)/∂(encoder, hyper-network) = β·∂L_meta/∂network. */
  networkGrad: ParamMap;
}

/** The gradients of the objective on one task; the caller disposes both maps. */
export function metaNetworkGradients(
  state: MetaNetworkState,
  task: MetaTask,
  weights: MetaNetworkWeights = {},
): MetaNetworkGradients {
  const alpha = weights.taskWeight ?? 1;
  const beta = weights.metaWeight ?? 1;
  if (!(alpha >= 0 && beta >= 0)) throw new RangeError(`Meta-Network loss weights must be non-negative, got α ${alpha}, β ${beta}.`);
  const embedding = entryOf(state.params, 'embedding') as Tensor2D;
  const transitions = transitionsOf(task.support);
  const baseStreams = [...task.support, ...task.query];

  let taskLoss: number;
  let taskGrads: ParamMap | undefined;
  if (alpha > 0) {
    const measured = lossAndGrads(state.params, baseStreams);
    taskLoss = measured.loss;
    taskGrads = measured.grads;
  } else {
    taskLoss = meanLoss(state.params, baseStreams).loss;
  }

  const adapter = generateAdapter(embedding, state.network, transitions);
  let metaLoss: number;
  let metaGrads: ParamMap | undefined;
  let networkGrads: ParamMap | undefined;
  let embeddingFromAdapter: Tensor | undefined;
  if (beta > 0) {
    const measured = filmLossAndGrads(state.params, adapter, task.query);
    metaLoss = measured.loss;
    metaGrads = measured.grads as ParamMap;
    // Chain rule through the generated row: one vector-Jacobian product.
    // Without support transitions only the hyper-network's bias and kernel
    // are on the path (the task embedding is a constant zero).
    const hasSupport = transitions.inputs.length > 0;
    const onPath = Object.keys(state.network).filter(
      (name) => hasSupport || name === NETWORK_NAMES.hyperKernel || name === NETWORK_NAMES.hyperBias,
    );
    const upstream = measured.adapterGrad;
    const offset = hasSupport ? 1 : 0;
    const chained = tf.tidy(() =>
      tf.grads((...xs: Tensor[]) => {
        const network: ParamMap = { ...state.network };
        onPath.forEach((name, i) => (network[name] = xs[i + offset]));
        return generateAdapter(hasSupport ? (xs[0] as Tensor2D) : embedding, network, transitions);
      })([...(hasSupport ? [embedding] : []), ...onPath.map((name) => state.network[name])], upstream),
    );
    upstream.dispose();
    if (hasSupport) embeddingFromAdapter = chained[0];
    networkGrads = mapParams(state.network, (name, value) =>
      onPath.includes(name) ? tf.clone(chained[onPath.indexOf(name) + offset]) : tf.zerosLike(value),
    );
    tf.dispose(chained.slice(offset));
  } else {
    metaLoss = meanLossWithFilm(state.params, adapter, task.query).loss;
  }
  adapter.dispose();

  const paramsGrad = mapParams(state.params, (name, value) => {
    let total: Tensor = tf.zerosLike(value);
    if (taskGrads) total = tf.add(total, tf.mul(entryOf(taskGrads, name), alpha));
    if (metaGrads) total = tf.add(total, tf.mul(entryOf(metaGrads, name), beta));
    if (embeddingFromAdapter && name === 'embedding') total = tf.add(total, tf.mul(embeddingFromAdapter, beta));
    return total;
  });
  const networkGrad = mapParams(state.network, (name, value) =>
    networkGrads ? tf.mul(entryOf(networkGrads, name), beta) : tf.zerosLike(value),
  );
  disposeMap(taskGrads);
  disposeMap(metaGrads);
  disposeMap(networkGrads);
  embeddingFromAdapter?.dispose();
  return { taskLoss, metaLoss, paramsGrad, networkGrad };
}

export interface MetaNetworkOptions extends MetaNetworkWeights {
  /** Outer learning rate of the encoder and hyper-network. Default: `outerLr` of each step. */
  networkLr?: number;
  /** Rescale the mean gradient (θ and network together) when its global norm exceeds this. Default: none. */
  clipNorm?: number;
}

/**
 * One outer step: the gradients of `α·L_task + β·L_meta`, averaged over the
 * meta-batch, then plain SGD on θ (rate `outerLr`) and on the network (rate
 * `networkLr`). `innerSteps` and `innerLr` are unused: the hyper-network is
 * the adaptation. The reported meta-loss is the mean L_meta before the step.
 */
export function metaNetworkStep(
  state: MetaNetworkState,
  tasks: readonly MetaTask[],
  options: OuterStepOptions,
  metaOptions: MetaNetworkOptions = {},
): OuterStepResult<MetaNetworkState> & { taskLoss: number } {
  requireTasks(tasks, 'Meta-Network');
  const networkLr = metaOptions.networkLr ?? options.outerLr;
  let paramsSum: ParamMap | undefined;
  let networkSum: ParamMap | undefined;
  let metaLoss = 0;
  let taskLoss = 0;
  const accumulate = (sum: ParamMap | undefined, grads: ParamMap): ParamMap => {
    if (sum === undefined) return grads;
    const next = mapParams(sum, (name, value) => tf.add(value, entryOf(grads, name)));
    disposeMap(sum);
    disposeMap(grads);
    return next;
  };
  try {
    for (const task of tasks) {
      const gradients = metaNetworkGradients(state, task, metaOptions);
      paramsSum = accumulate(paramsSum, gradients.paramsGrad);
      networkSum = accumulate(networkSum, gradients.networkGrad);
      metaLoss += gradients.metaLoss;
      taskLoss += gradients.taskLoss;
    }
    const sums = { params: paramsSum as ParamMap, network: networkSum as ParamMap };
    let scale = 1 / tasks.length;
    const clipNorm = metaOptions.clipNorm ?? Infinity;
    if (Number.isFinite(clipNorm)) {
      const norm = Math.hypot(globalNorm(sums.params), globalNorm(sums.network)) * scale;
      if (norm > clipNorm) scale *= clipNorm / norm;
    }
    const params = mapParams(state.params, (name, value) =>
      tf.sub(value, tf.mul(entryOf(sums.params, name), scale * options.outerLr)),
    );
    const network = mapParams(state.network, (name, value) =>
      tf.sub(value, tf.mul(entryOf(sums.network, name), scale * networkLr)),
    );
    return { state: { params, network }, metaLoss: metaLoss / tasks.length, taskLoss: taskLoss / tasks.length };
  } finally {
    disposeMap(paramsSum);
    disposeMap(networkSum);
  }
}

export function cloneMetaNetworkState(state: MetaNetworkState): MetaNetworkState {
  return { params: cloneParams(state.params), network: cloneParams(state.network) };
}

export function disposeMetaNetworkState(state: MetaNetworkState): void {
  disposeMap(state.params);
  disposeMap(state.network);
}

/** The Meta-Network as a {@link MetaLearner}, so `metaTrain` drives it and reports its progress. */
export function createMetaNetworkLearner(metaOptions: MetaNetworkOptions = {}): MetaLearner<MetaNetworkState> {
  return {
    name: 'meta-network',
    outerStep: (state, tasks, options) => {
      const { state: next, metaLoss } = metaNetworkStep(state, tasks, options, metaOptions);
      return { state: next, metaLoss };
    },
    paramsOf: (state) => state.params,
    cloneState: cloneMetaNetworkState,
    disposeState: disposeMetaNetworkState,
  };
}

export interface AdaptMetaNetworkOptions extends Partial<BatchShape> {
  /** SGD steps on the FiLM adapter only, on the support tokens (k). Default 0: the generated adapter alone. */
  steps?: number;
  /** Learning rate of those steps. Required when `steps` > 0. */
  lr?: number;
}

/** A task-adapted model: the base θ (shared with the state) plus its own FiLM adapter. */
export interface AdaptedMetaNetwork {
  /** `[1, 2 * embed + 2 * hidden]`, [γᵢ, βᵢ, γₒ, βₒ]; owned by this object. */
  readonly adapter: Tensor2D;
  /** Support loss before each FiLM step (length `steps`). */
  readonly supportLosses: number[];
  /** Mean query loss, nats per token, of the adapted model on `streams`. */
  loss(streams: readonly BatchStream[]): { loss: number; tokens: number };
  /** Next-token logits `[batch, time, vocab]` and the final state; the caller disposes both. */
  forward(batch: LmBatch, lstmState?: LstmState): { logits: Tensor3D; state: LstmState };
  /** Frees the FiLM adapter; θ belongs to the state. */
  dispose(): void;
}

/**
 * Adapts the Meta-Network to a task from its support tokens (class ids):
 * the hyper-network's adapter (k = 0), then optionally `steps` SGD steps on
 * the adapter alone against the support loss, with the LSTM held fixed. The
 * returned closure shares θ with `state`: keep the state alive while using it.
 */
export function adaptMetaNetwork(
  state: MetaNetworkState,
  supportTokens: ArrayLike<number>,
  options: AdaptMetaNetworkOptions = {},
): AdaptedMetaNetwork {
  const steps = options.steps ?? 0;
  const shape: BatchShape = { batchSize: options.batchSize ?? 1, timeSteps: options.timeSteps ?? 32 };
  const support: BatchStream[] = steps > 0 ? [makeBatches(supportTokens, shape)] : [];
  return adaptFrom(state, transitionsOfTokens(supportTokens), support, options);
}

/** {@link adaptMetaNetwork} for a support set already cut into batch streams (a task's `support`). */
export function adaptMetaNetworkToSupport(
  state: MetaNetworkState,
  support: readonly BatchStream[],
  options: Pick<AdaptMetaNetworkOptions, 'steps' | 'lr'> = {},
): AdaptedMetaNetwork {
  return adaptFrom(state, transitionsOf(support), support, options);
}

/**
 * The loss-vs-k curve of the Meta-Network on a task: query loss with the
 * generated adapter (k = 0) and after each of `steps` adapter steps on the
 * support set (length `steps + 1`), for the panel and the few-shot table.
 */
export function metaNetworkQueryCurve(
  state: MetaNetworkState,
  task: MetaTask,
  options: { steps: number; lr: number },
): number[] {
  const curve: number[] = [];
  const adapted = adaptFrom(state, transitionsOf(task.support), task.support, options, (adapter) =>
    curve.push(meanLossWithFilm(state.params, adapter, task.query).loss),
  );
  adapted.dispose();
  // Without support tokens the steps stop early; the curve is then flat.
  while (curve.length < options.steps + 1) curve.push(curve[curve.length - 1]);
  return curve;
}

function adaptFrom(
  state: MetaNetworkState,
  transitions: Transitions,
  support: readonly BatchStream[],
  options: Pick<AdaptMetaNetworkOptions, 'steps' | 'lr'>,
  observe?: (adapter: Tensor2D) => void,
): AdaptedMetaNetwork {
  const steps = options.steps ?? 0;
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`Adapter steps must be a non-negative integer, got ${steps}.`);
  if (steps > 0 && !(options.lr !== undefined && options.lr > 0)) {
    throw new Error('Meta-Network adaptation needs a positive lr for adapter steps; pass lr or use steps: 0.');
  }
  const embedding = entryOf(state.params, 'embedding') as Tensor2D;
  let adapter = generateAdapter(embedding, state.network, transitions);
  observe?.(adapter);
  const supportLosses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const measured = filmLossAndGrads(state.params, adapter, support, true);
    if (measured.tokens === 0) {
      measured.adapterGrad.dispose();
      break;
    }
    supportLosses.push(measured.loss);
    const next = tf.tidy(() => tf.sub(adapter, tf.mul(measured.adapterGrad, options.lr as number)) as Tensor2D);
    measured.adapterGrad.dispose();
    adapter.dispose();
    adapter = next;
    observe?.(adapter);
  }
  const row = adapter;
  return {
    adapter: row,
    supportLosses,
    loss: (streams) => meanLossWithFilm(state.params, row, streams),
    forward: (batch, lstmState) => forwardWithFilm(unflattenParams(state.params), row, batch, lstmState),
    dispose: () => row.dispose(),
  };
}
