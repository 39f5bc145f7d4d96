import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { countTokens, toTimeMajor } from './batches';
import type { LmBatch } from './batches';
import { dense, embeddingLookup, flushTiny, matMul, sliceRows, softmaxCrossEntropy, transpose2d } from './ops';
import { SeededRandom } from './random';

/**
 * LSTM language model as a pure function of an explicit parameter record.
 *
 * Classes: `vocabSize` = K most frequent tokens + `<unk>` at class
 * `UNK_CLASS` (0, see batches.ts). The model predicts `<unk>` like any class;
 * its probability is the mass of all out-of-vocabulary tokens together.
 *
 * Layout: the fused gate columns of kernel, recurrent and bias are ordered
 * [input, forget, output, candidate], each `hidden` wide, so one sigmoid
 * covers the first three. Inside the model, sequences are time-major
 * (`[time * batch, ...]`), so each time step is a contiguous row block and the
 * input projection of all steps is one matMul.
 */

export interface LstmConfig {
  /** Number of output classes, `<unk>` included. */
  vocabSize: number;
  embeddingSize: number;
  hiddenSize: number;
  /** Stacked LSTM layers (1 or 2 in practice). */
  layers: number;
}

export interface LstmLayerParams {
  /** `[in, 4 * hidden]`, fused gates [i, f, o, g]. */
  kernel: Tensor2D;
  /** `[hidden, 4 * hidden]`. */
  recurrent: Tensor2D;
  /** `[4 * hidden]`. */
  bias: Tensor1D;
}

export interface LstmParams {
  /** `[vocab, embed]`. */
  embedding: Tensor2D;
  layers: LstmLayerParams[];
  /** `[hidden, vocab]`. */
  outputKernel: Tensor2D;
  /** `[vocab]`. */
  outputBias: Tensor1D;
}

/** Parameters by name, for arithmetic over whole models (optimisers, Reptile, Meta-SGD). */
export type ParamMap = Record<string, Tensor>;

/**
 * Recurrent state per layer: `h[layer]`, `c[layer]` are `[batch, hidden]`.
 * A type alias so that it is a tfjs TensorContainer (tidy can return it).
 */
export type LstmState = {
  h: Tensor2D[];
  c: Tensor2D[];
};

/** Names in a stable order: embedding, layer0.kernel, layer0.recurrent, layer0.bias, ..., output.kernel, output.bias. */
export function flattenParams(params: LstmParams): ParamMap {
  const map: ParamMap = { embedding: params.embedding };
  params.layers.forEach((layer, index) => {
    map[`layer${index}.kernel`] = layer.kernel;
    map[`layer${index}.recurrent`] = layer.recurrent;
    map[`layer${index}.bias`] = layer.bias;
  });
  map['output.kernel'] = params.outputKernel;
  map['output.bias'] = params.outputBias;
  return map;
}

/**
 * Name of the tied form's projection `[hidden, embed]`: a map holding it
 * instead of `output.kernel` ties the softmax to the embedding table, with
 * output kernel `P · Eᵀ`. Pre-training uses the tied form (half the weights of
 * the two large matrices to fit on a small corpus); {@link untieParams} folds
 * it back, so that every other part of the engine sees plain parameters.
 */
export const TIED_PROJECTION = 'output.projection';

/**
 * {@link unflattenParams} of a plain or a tied map. A tied map's output kernel
 * is computed, differentiably, from the projection and the embedding: call it
 * inside a tidy or a gradient closure.
 */
export function unflattenTrainable(map: ParamMap): LstmParams {
  const projection = map[TIED_PROJECTION];
  if (projection === undefined) return unflattenParams(map);
  const { [TIED_PROJECTION]: _tied, ...rest } = map;
  return unflattenParams({ ...rest, 'output.kernel': matMul(projection as Tensor2D, transpose2d(map.embedding as Tensor2D)) });
}

/** A tied map (see {@link TIED_PROJECTION}) from fresh plain parameters: the output kernel's place taken by a projection `[hidden, embed]`. */
export function tieParams(map: ParamMap, seed: number): ParamMap {
  const embedding = map.embedding as Tensor2D;
  const kernel = map['output.kernel'] as Tensor2D | undefined;
  if (kernel === undefined) throw new Error('tieParams needs plain parameters with an output kernel.');
  const [hidden, embed] = [kernel.shape[0], embedding.shape[1]];
  const limit = Math.sqrt(6 / (hidden + embed));
  const { 'output.kernel': _kernel, ...rest } = map;
  kernel.dispose();
  return { ...rest, [TIED_PROJECTION]: tf.tensor2d(new SeededRandom(seed).uniformArray(hidden * embed, limit), [hidden, embed]) };
}

/** The plain map of a tied one: `output.kernel = P · Eᵀ`, the projection disposed. A plain map is returned as it is. */
export function untieParams(map: ParamMap): ParamMap {
  const projection = map[TIED_PROJECTION];
  if (projection === undefined) return map;
  const { [TIED_PROJECTION]: _tied, ...rest } = map;
  const kernel = tf.tidy(() => tf.matMul(projection as Tensor2D, map.embedding as Tensor2D, false, true));
  projection.dispose();
  return { ...rest, 'output.kernel': kernel };
}

/** Inverse of {@link flattenParams}; the tensors are shared, not copied. */
export function unflattenParams(map: ParamMap): LstmParams {
  const take = <T extends Tensor>(name: string, rank: number): T => {
    const tensor = map[name];
    if (tensor === undefined) throw new Error(`Parameter map lacks "${name}".`);
    if (tensor.rank !== rank) throw new Error(`Parameter "${name}" has rank ${tensor.rank}, expected ${rank}.`);
    return tensor as T;
  };
  const layers: LstmLayerParams[] = [];
  for (let index = 0; `layer${index}.kernel` in map; index++) {
    layers.push({
      kernel: take(`layer${index}.kernel`, 2),
      recurrent: take(`layer${index}.recurrent`, 2),
      bias: take(`layer${index}.bias`, 1),
    });
  }
  return {
    embedding: take('embedding', 2),
    layers,
    outputKernel: take('output.kernel', 2),
    outputBias: take('output.bias', 1),
  };
}

export function configOf(params: LstmParams): LstmConfig {
  return {
    vocabSize: params.embedding.shape[0],
    embeddingSize: params.embedding.shape[1],
    hiddenSize: params.outputKernel.shape[0],
    layers: params.layers.length,
  };
}

/**
 * Fresh parameters, identical for a given seed on every backend. Glorot
 * uniform input kernels, U(±1/√hidden) recurrent kernels, forget-gate bias 1
 * so that early training keeps the cell memory.
 */
export function initLstmParams(config: LstmConfig, seed: number): LstmParams {
  const { vocabSize, embeddingSize, hiddenSize, layers } = config;
  for (const [name, value] of Object.entries(config)) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`LstmConfig.${name} must be a positive integer, got ${value}.`);
  }
  const random = new SeededRandom(seed);
  const uniform2d = (rows: number, cols: number, limit: number): Tensor2D =>
    tf.tensor2d(random.uniformArray(rows * cols, limit), [rows, cols]);
  const gates = 4 * hiddenSize;
  return {
    embedding: uniform2d(vocabSize, embeddingSize, 0.1),
    layers: Array.from({ length: layers }, (_, index) => {
      const inputSize = index === 0 ? embeddingSize : hiddenSize;
      const bias = new Float32Array(gates);
      bias.fill(1, hiddenSize, 2 * hiddenSize);
      return {
        kernel: uniform2d(inputSize, gates, Math.sqrt(6 / (inputSize + gates))),
        recurrent: uniform2d(hiddenSize, gates, 1 / Math.sqrt(hiddenSize)),
        bias: tf.tensor1d(bias),
      };
    }),
    outputKernel: uniform2d(hiddenSize, vocabSize, Math.sqrt(6 / (hiddenSize + vocabSize))),
    outputBias: tf.zeros([vocabSize]),
  };
}

export function disposeParams(params: LstmParams | ParamMap): void {
  tf.dispose(Object.values('layers' in params && Array.isArray(params.layers) ? flattenParams(params as LstmParams) : params));
}

export function zeroState(config: LstmConfig, batchSize: number): LstmState {
  const zeros = (): Tensor2D[] =>
    Array.from({ length: config.layers }, () => tf.zeros([batchSize, config.hiddenSize]) as Tensor2D);
  return { h: zeros(), c: zeros() };
}

export function disposeState(state: LstmState | undefined): void {
  if (state) tf.dispose([...state.h, ...state.c]);
}

/** Activations of one cell step, kept for its backward step. All `[batch, ·]`. */
export type CellStep = {
  h: Tensor2D;
  c: Tensor2D;
  /** σ of the input, forget and output gates, `[batch, 3 * hidden]`. */
  gates: Tensor2D;
  /** tanh of the candidate, `[batch, hidden]`. */
  candidate: Tensor2D;
  /** tanh(c), `[batch, hidden]`. */
  cellTanh: Tensor2D;
};

/**
 * One LSTM step from the pre-activations `z = x·W + h·U + b` `[batch, 4 * hidden]`
 * and the previous cell `c` `[batch, hidden]`. Call inside a tidy.
 */
export function lstmCellStep(preActivations: Tensor2D, c: Tensor2D): CellStep {
  const hidden = c.shape[1];
  const [gatePre, candidatePre] = tf.split(preActivations, [3 * hidden, hidden], 1) as [Tensor2D, Tensor2D];
  const gates = tf.sigmoid(gatePre);
  const candidate = tf.tanh(candidatePre);
  const [input, forget, output] = tf.split(gates, 3, 1) as [Tensor2D, Tensor2D, Tensor2D];
  const cNext = tf.add(tf.mul(forget, c), tf.mul(input, candidate)) as Tensor2D;
  const cellTanh = tf.tanh(cNext);
  return { h: tf.mul(output, cellTanh), c: cNext, gates, candidate, cellTanh };
}

/**
 * Backward of {@link lstmCellStep}: from the gradients reaching `h` and `c`
 * of this step, the gradient of its pre-activations `[batch, 4 * hidden]`
 * (flushed, it feeds matMuls) and of the previous cell. Call inside a tidy.
 */
export function lstmCellStepBackward(
  step: CellStep,
  cPrevious: Tensor2D,
  dh: Tensor2D,
  dc: Tensor2D,
): { dPreActivations: Tensor2D; dcPrevious: Tensor2D } {
  const [input, forget, output] = tf.split(step.gates, 3, 1) as [Tensor2D, Tensor2D, Tensor2D];
  const dcTotal = tf.add(dc, tf.mul(tf.mul(dh, output), tf.sub(1, tf.square(step.cellTanh))));
  const dOutput = tf.mul(dh, step.cellTanh);
  const dInput = tf.mul(dcTotal, step.candidate);
  const dForget = tf.mul(dcTotal, cPrevious);
  const dCandidate = tf.mul(dcTotal, input);
  const dGatePre = tf.mul(tf.concat([dInput, dForget, dOutput], 1), tf.mul(step.gates, tf.sub(1, step.gates)));
  const dCandidatePre = tf.mul(dCandidate, tf.sub(1, tf.square(step.candidate)));
  return {
    dPreActivations: flushTiny(tf.concat([dGatePre, dCandidatePre], 1) as Tensor2D),
    dcPrevious: tf.mul(dcTotal, forget) as Tensor2D,
  };
}

/**
 * Runs one LSTM layer over a segment, given the input projection of every
 * step at once. Differentiable in all four inputs, with a hand-written BPTT
 * whose recurrent-weight gradient is one matMul over the whole segment.
 *
 * @param projection `[time * batch, 4 * hidden]` time-major `x·W + b`.
 * @param recurrent `[hidden, 4 * hidden]`.
 * @param h0 `[batch, hidden]`, c0 `[batch, hidden]` initial state.
 * @returns `[(time + 1) * batch, hidden]`: rows `t * batch ..` hold `h_t`, the
 * last `batch` rows hold the final cell `c`.
 */
export function lstmLayer(projection: Tensor2D, recurrent: Tensor2D, h0: Tensor2D, c0: Tensor2D): Tensor2D {
  const [batchSize, hidden] = h0.shape;
  const timeSteps = projection.shape[0] / batchSize;
  if (!Number.isInteger(timeSteps) || projection.shape[1] !== 4 * hidden) {
    throw new Error(`lstmLayer: projection [${projection.shape}] does not fit state [${h0.shape}].`);
  }
  const layer = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [projectionIn, recurrentIn, hInitial, cInitial, save] = args as [
      Tensor2D,
      Tensor2D,
      Tensor2D,
      Tensor2D,
      GradSaveFunc,
    ];
    const perStep = tf.unstack(tf.reshape(projectionIn, [timeSteps, batchSize, 4 * hidden])) as Tensor2D[];
    const steps: CellStep[] = [];
    let h = hInitial;
    let c = cInitial;
    for (let t = 0; t < timeSteps; t++) {
      // A tidy per step frees the split pieces and products at once.
      const step = tf.tidy(() => lstmCellStep(tf.add(perStep[t], tf.matMul(h, recurrentIn)) as Tensor2D, c));
      steps.push(step);
      h = step.h;
      c = step.c;
    }
    const hs = steps.map((step) => step.h);
    save([
      recurrentIn,
      hInitial,
      cInitial,
      ...steps.flatMap((step) => [step.h, step.c, step.gates, step.candidate, step.cellTanh]),
    ]);
    return {
      value: tf.concat([...hs, c], 0) as Tensor2D,
      gradFunc: (dy: Tensor, saved: Tensor[]) => lstmLayerBackward(dy as Tensor2D, saved as Tensor2D[], timeSteps),
    };
  });
  return layer(projection, recurrent, h0, c0) as Tensor2D;
}

/** Reverse time loop of {@link lstmLayer}; `saved` is its save list. */
function lstmLayerBackward(dy: Tensor2D, saved: Tensor2D[], timeSteps: number): Tensor[] {
  const [recurrent, hInitial, cInitial] = saved;
  const steps: CellStep[] = [];
  for (let t = 0; t < timeSteps; t++) {
    const [h, c, gates, candidate, cellTanh] = saved.slice(3 + 5 * t, 8 + 5 * t);
    steps.push({ h, c, gates, candidate, cellTanh });
  }
  const recurrentTransposed = tf.transpose(recurrent);
  const dyPerRow = tf.split(dy, timeSteps + 1, 0) as Tensor2D[];
  // The last row block is the gradient reaching the returned final cell.
  let dc = dyPerRow[timeSteps];
  let dhCarried: Tensor2D | undefined;
  const dPreActivations: Tensor2D[] = new Array(timeSteps);
  for (let t = timeSteps - 1; t >= 0; t--) {
    const dhFromAbove = dyPerRow[t];
    const dcFromLater = dc;
    const dhFromLater = dhCarried;
    const back = tf.tidy(() => {
      const dh = dhFromLater === undefined ? dhFromAbove : (tf.add(dhFromAbove, dhFromLater) as Tensor2D);
      const cPrevious = t > 0 ? steps[t - 1].c : cInitial;
      const cell = lstmCellStepBackward(steps[t], cPrevious, dh, dcFromLater);
      return { ...cell, dhPrevious: tf.matMul<Tensor2D>(cell.dPreActivations, recurrentTransposed) };
    });
    dPreActivations[t] = back.dPreActivations;
    dc = back.dcPrevious;
    dhCarried = back.dhPrevious;
  }
  const dProjection = tf.concat(dPreActivations, 0) as Tensor2D;
  const hPrevious = tf.concat([hInitial, ...steps.slice(0, timeSteps - 1).map((step) => step.h)], 0) as Tensor2D;
  const dRecurrent = tf.matMul(tf.transpose(hPrevious), dProjection);
  return [dProjection, dRecurrent, dhCarried ?? tf.zerosLike(hInitial), dc];
}

/** Batch tensors in the model's time-major layout. */
interface TimeMajorBatch {
  batchSize: number;
  timeSteps: number;
  /** int32 `[time * batch]`. */
  inputs: Tensor1D;
  /** int32 `[time * batch]`. */
  targets: Tensor1D;
  /** `[time * batch]`: mask / (number of real positions), so weighted sums are means. */
  weights: Tensor1D;
}

function timeMajorTensors(batch: LmBatch): TimeMajorBatch {
  const { batchSize, timeSteps } = batch;
  const size = batchSize * timeSteps;
  if (batch.inputs.length !== size || batch.targets.length !== size || batch.mask.length !== size) {
    throw new Error(`Batch arrays must hold batch ${batchSize} x time ${timeSteps} = ${size} values.`);
  }
  const weights = toTimeMajor(batch.mask, batchSize, timeSteps);
  const scale = 1 / Math.max(countTokens(batch), 1);
  for (let i = 0; i < weights.length; i++) weights[i] *= scale;
  return {
    batchSize,
    timeSteps,
    inputs: tf.tensor1d(toTimeMajor(batch.inputs, batchSize, timeSteps), 'int32'),
    targets: tf.tensor1d(toTimeMajor(batch.targets, batchSize, timeSteps), 'int32'),
    weights: tf.tensor1d(weights),
  };
}

/**
 * Transforms around the LSTM stack (FiLM adapters, see film.ts): `input` of
 * the embedded tokens `[time * batch, embed]` fed to the first layer,
 * `output` of the top layer's hidden states `[time * batch, hidden]` fed to
 * the output layer. The recurrent state is never transformed.
 */
export interface StackHooks {
  input?(embedded: Tensor2D): Tensor2D;
  output?(hidden: Tensor2D): Tensor2D;
}

/** Embedding and LSTM stack; returns the top layer's `[time * batch, hidden]` and the final state. */
function runLayers(
  params: LstmParams,
  inputs: Tensor1D,
  batchSize: number,
  timeSteps: number,
  state: LstmState | undefined,
  hooks: StackHooks | undefined,
): { hidden: Tensor2D; state: LstmState } {
  const hiddenSize = params.outputKernel.shape[0];
  if (state !== undefined) {
    const fits = (list: Tensor2D[]): boolean =>
      list.length === params.layers.length &&
      list.every((t) => t.shape[0] === batchSize && t.shape[1] === hiddenSize);
    if (!fits(state.h) || !fits(state.c)) {
      throw new Error(`LSTM state does not match ${params.layers.length} layer(s) of [${batchSize}, ${hiddenSize}].`);
    }
  }
  const rows = timeSteps * batchSize;
  const embedded = embeddingLookup(params.embedding, inputs);
  let x = hooks?.input ? hooks.input(embedded) : embedded;
  const next: LstmState = { h: [], c: [] };
  params.layers.forEach((layer, index) => {
    const h0 = state?.h[index] ?? (tf.zeros([batchSize, hiddenSize]) as Tensor2D);
    const c0 = state?.c[index] ?? (tf.zeros([batchSize, hiddenSize]) as Tensor2D);
    const out = lstmLayer(dense(x, layer.kernel, layer.bias), layer.recurrent, h0, c0);
    x = sliceRows(out, 0, rows);
    next.h.push(sliceRows(out, rows - batchSize, batchSize));
    next.c.push(sliceRows(out, rows, batchSize));
  });
  return { hidden: hooks?.output ? hooks.output(x) : x, state: next };
}

/**
 * Next-token logits. Pass the state returned for the previous segment of
 * the same lanes to continue them; omit it to start from zeros. For
 * inference: differentiate {@link loss} instead, whose ops all carry their
 * own gradients.
 *
 * @returns logits `[batch, time, vocab]` and the final state; the caller
 * disposes both.
 */
export function forward(
  params: LstmParams,
  batch: LmBatch,
  state?: LstmState,
  hooks?: StackHooks,
): { logits: Tensor3D; state: LstmState } {
  return tf.tidy(() => {
    const { batchSize, timeSteps } = batch;
    const hiddenSize = params.outputKernel.shape[0];
    const vocabSize = params.outputKernel.shape[1];
    const inputs = tf.tensor1d(toTimeMajor(batch.inputs, batchSize, timeSteps), 'int32');
    const run = runLayers(params, inputs, batchSize, timeSteps, state, hooks);
    // Reorder the small hidden tensor rather than the logits.
    const batchMajor =
      batchSize === 1
        ? run.hidden
        : (tf.reshape(
            tf.transpose(tf.reshape(run.hidden, [timeSteps, batchSize, hiddenSize]), [1, 0, 2]),
            [batchSize * timeSteps, hiddenSize],
          ) as Tensor2D);
    const logits = tf.reshape(dense(batchMajor, params.outputKernel, params.outputBias), [
      batchSize,
      timeSteps,
      vocabSize,
    ]) as Tensor3D;
    return { logits, state: run.state };
  });
}

/**
 * Mean cross-entropy in nats over the unmasked positions (0 for an all-padding
 * batch), and the final state. Differentiable in the parameters; the incoming
 * state is treated as a constant by callers that differentiate only the
 * parameters, which is what truncates BPTT between segments.
 */
export function lossAndState(
  params: LstmParams,
  batch: LmBatch,
  state?: LstmState,
  hooks?: StackHooks,
): { loss: Scalar; state: LstmState } {
  return tf.tidy(() => {
    const tensors = timeMajorTensors(batch);
    const run = runLayers(params, tensors.inputs, tensors.batchSize, tensors.timeSteps, state, hooks);
    const logits = dense(run.hidden, params.outputKernel, params.outputBias);
    return { loss: softmaxCrossEntropy(logits, tensors.targets, tensors.weights), state: run.state };
  });
}

/** Mean cross-entropy in nats over the unmasked positions of `batch`. */
export function loss(params: LstmParams, batch: LmBatch, state?: LstmState): Scalar {
  return tf.tidy(() => lossAndState(params, batch, state).loss);
}
