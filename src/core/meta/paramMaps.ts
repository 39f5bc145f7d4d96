import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { countTokens } from '../neural/batches';
import type { LmBatch } from '../neural/batches';
import { disposeState, lossAndState, unflattenParams } from '../neural/lstm';
import type { LstmState, ParamMap } from '../neural/lstm';

/**
 * Arithmetic over named parameter maps, and losses and gradients of the LSTM
 * LM over whole support or query sets. Every function returns new tensors and
 * leaves its inputs alone; the caller owns (and disposes) what it gets back.
 * The arithmetic runs outside any gradient tape: only the model's own ops
 * carry gradients (see neural/ops.ts).
 */

/**
 * Consecutive batches of the same lanes (as `makeBatches` cuts one token
 * stream): the LSTM state is carried from one batch to the next and reset
 * between streams.
 */
export type BatchStream = readonly LmBatch[];

/** A new tensor per entry: `update(name, value)`, all inside one tidy. */
export function mapParams(params: ParamMap, update: (name: string, value: Tensor) => Tensor): ParamMap {
  return tf.tidy(() => {
    const result: ParamMap = {};
    for (const [name, value] of Object.entries(params)) result[name] = update(name, value);
    return result;
  });
}

/** The tensor of `name` in `map`, or an error naming what is missing. */
export function entryOf(map: ParamMap, name: string, what = 'map'): Tensor {
  const tensor = map[name];
  if (tensor === undefined) throw new Error(`The ${what} lacks parameter "${name}".`);
  return tensor;
}

/** Independent copies of every tensor. */
export function cloneParams(params: ParamMap): ParamMap {
  return mapParams(params, (_, value) => tf.clone(value));
}

/** Elementwise mean of maps with the same names and shapes. */
export function meanParams(maps: readonly ParamMap[]): ParamMap {
  if (maps.length === 0) throw new Error('meanParams needs at least one parameter map.');
  return mapParams(maps[0], (name) =>
    tf.div(tf.addN(maps.map((map) => entryOf(map, name))), maps.length),
  );
}

export function disposeMap(map: ParamMap | undefined): void {
  if (map) tf.dispose(Object.values(map));
}

/** The values of a map as plain arrays, for comparisons and serialisation. */
export function readParams(map: ParamMap): Record<string, Float32Array> {
  const result: Record<string, Float32Array> = {};
  for (const [name, value] of Object.entries(map)) result[name] = value.dataSync() as Float32Array;
  return result;
}

/**
 * The loss of one batch, given the state carried in from the previous batch
 * of its stream (undefined at the start), and the state to carry on. `model`
 * is whatever the loss is a function of: the LSTM, or a map of tensors to
 * differentiate.
 */
export type BatchLoss<Model> = (
  model: Model,
  batch: LmBatch,
  state: LstmState | undefined,
) => { loss: Scalar; state: LstmState };

/** The plain LSTM LM as a {@link BatchLoss} of its parameter map. */
export const lstmBatchLoss: BatchLoss<ParamMap> = (params, batch, state) =>
  lossAndState(unflattenParams(params), batch, state);

export interface BatchLossAndGrads {
  /** The batch's loss, a new tensor. */
  loss: Scalar;
  /** Gradient of `loss` with respect to each entry of the map. */
  grads: ParamMap;
  /** The state to carry into the next batch (new tensors, no gradient). */
  state: LstmState;
}

/**
 * Loss and gradients of one batch with respect to every tensor of `params`.
 * The incoming state is a constant, which is what truncates BPTT between
 * batches.
 */
export function batchLossAndGrads(
  params: ParamMap,
  batch: LmBatch,
  state: LstmState | undefined,
  batchLoss: BatchLoss<ParamMap>,
): BatchLossAndGrads {
  const names = Object.keys(params);
  let outgoing: LstmState | undefined;
  return tf.tidy(() => {
    const { value, grads } = tf.valueAndGrads((...xs: Tensor[]) => {
      const map: ParamMap = {};
      names.forEach((name, i) => (map[name] = xs[i]));
      const out = batchLoss(map, batch, state);
      outgoing = { h: out.state.h.map((t) => tf.keep(t)), c: out.state.c.map((t) => tf.keep(t)) };
      return out.loss;
    })(names.map((name) => params[name]));
    const map: ParamMap = {};
    names.forEach((name, i) => (map[name] = grads[i]));
    return { loss: value, grads: map, state: outgoing as LstmState };
  });
}

export interface LossAndGrads {
  /** Mean cross-entropy in nats per real token over all streams. */
  loss: number;
  /** Real (unmasked) prediction positions. */
  tokens: number;
  /** Gradient of `loss` with respect to each parameter; zeros when `tokens` is 0. */
  grads: ParamMap;
}

/**
 * Runs `step` on every batch with real tokens, stream by stream: the state
 * each step returns is carried into the next batch of the same stream and
 * disposed once the next one replaces it or the stream ends. Returns the
 * token-weighted mean of the losses the steps report.
 */
function overStreams(
  streams: readonly BatchStream[],
  step: (batch: LmBatch, state: LstmState | undefined, tokens: number) => { loss: number; state: LstmState },
): { loss: number; tokens: number } {
  let weightedLoss = 0;
  let tokens = 0;
  for (const stream of streams) {
    let state: LstmState | undefined;
    for (const batch of stream) {
      const count = countTokens(batch);
      if (count === 0) continue;
      const out = step(batch, state, count);
      disposeState(state);
      state = out.state;
      weightedLoss += out.loss * count;
      tokens += count;
    }
    disposeState(state);
  }
  return { loss: tokens > 0 ? weightedLoss / tokens : 0, tokens };
}

/**
 * Loss and gradient of the token-weighted mean of `batchLoss` over all
 * batches of all streams, with respect to every tensor of `params`.
 * Truncated BPTT: each batch contributes the gradient of its own loss.
 */
export function streamLossAndGrads(
  params: ParamMap,
  streams: readonly BatchStream[],
  batchLoss: BatchLoss<ParamMap>,
): LossAndGrads {
  let weightedSums = mapParams(params, (_, value) => tf.zerosLike(value));
  const { loss, tokens } = overStreams(streams, (batch, state, count) => {
    const measured = batchLossAndGrads(params, batch, state, batchLoss);
    const sums = mapParams(weightedSums, (name, sum) => tf.add(sum, tf.mul(entryOf(measured.grads, name), count)));
    disposeMap(weightedSums);
    disposeMap(measured.grads);
    weightedSums = sums;
    const value = measured.loss.dataSync()[0];
    measured.loss.dispose();
    return { loss: value, state: measured.state };
  });
  const scale = tokens > 0 ? 1 / tokens : 0;
  const grads = mapParams(weightedSums, (_, sum) => tf.mul(sum, scale));
  disposeMap(weightedSums);
  return { loss, tokens, grads };
}

/** Token-weighted mean of `batchLoss` over all batches of all streams, without gradients. */
export function streamLoss<Model>(
  model: Model,
  streams: readonly BatchStream[],
  batchLoss: BatchLoss<Model>,
): { loss: number; tokens: number } {
  return overStreams(streams, (batch, state) => {
    const out = batchLoss(model, batch, state);
    const value = out.loss.dataSync()[0];
    out.loss.dispose();
    return { loss: value, state: out.state };
  });
}

/**
 * Loss and gradient of the LSTM LM's token-weighted mean cross-entropy over
 * all batches of all streams (truncated BPTT between batches).
 */
export function lossAndGrads(params: ParamMap, streams: readonly BatchStream[]): LossAndGrads {
  return streamLossAndGrads(params, streams, lstmBatchLoss);
}

/** Token-weighted mean cross-entropy over all streams, without gradients. */
export function meanLoss(params: ParamMap, streams: readonly BatchStream[]): { loss: number; tokens: number } {
  return streamLoss(unflattenParams(params), streams, lossAndState);
}

/** Global L2 norm of a gradient map. */
export function globalNorm(map: ParamMap): number {
  return tf.tidy(() => Math.sqrt(tf.addN(Object.values(map).map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
}
