import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { countTokens } from '../neural/batches';
import type { LmBatch } from '../neural/batches';
import { lossAndState, unflattenParams } from '../neural/lstm';
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

export interface LossAndGrads {
  /** Mean cross-entropy in nats per real token over all streams. */
  loss: number;
  /** Real (unmasked) prediction positions. */
  tokens: number;
  /** Gradient of `loss` with respect to each parameter; zeros when `tokens` is 0. */
  grads: ParamMap;
}

/**
 * Loss and gradient of the token-weighted mean cross-entropy over all batches
 * of all streams. Truncated BPTT: the state carried into a batch is a constant,
 * so each batch contributes the gradient of its own loss.
 */
export function lossAndGrads(params: ParamMap, streams: readonly BatchStream[]): LossAndGrads {
  const names = Object.keys(params);
  const values = names.map((name) => params[name]);
  let weightedSums: Tensor[] = names.map((name) => tf.zerosLike(params[name]));
  let weightedLoss = 0;
  let tokens = 0;
  for (const stream of streams) {
    let state: LstmState | undefined;
    for (const batch of stream) {
      const count = countTokens(batch);
      if (count === 0) continue;
      const incoming = state;
      let outgoing: LstmState | undefined;
      const step = tf.tidy(() => {
        const { value, grads } = tf.valueAndGrads((...xs: Tensor[]) => {
          const map: ParamMap = {};
          names.forEach((name, i) => (map[name] = xs[i]));
          const out = lossAndState(unflattenParams(map), batch, incoming);
          outgoing = { h: out.state.h.map((t) => tf.keep(t)), c: out.state.c.map((t) => tf.keep(t)) };
          return out.loss;
        })(values);
        return { value, sums: grads.map((grad, i) => tf.add(weightedSums[i], tf.mul(grad, count))) };
      });
      weightedLoss += step.value.dataSync()[0] * count;
      tokens += count;
      tf.dispose([step.value, ...weightedSums]);
      weightedSums = step.sums;
      if (incoming) tf.dispose([...incoming.h, ...incoming.c]);
      state = outgoing;
    }
    if (state) tf.dispose([...state.h, ...state.c]);
  }
  const grads: ParamMap = {};
  const scale = tokens > 0 ? 1 / tokens : 0;
  tf.tidy(() => names.forEach((name, i) => (grads[name] = tf.keep(tf.mul(weightedSums[i], scale)))));
  tf.dispose(weightedSums);
  return { loss: tokens > 0 ? weightedLoss / tokens : 0, tokens, grads };
}

/** Token-weighted mean cross-entropy over all streams, without gradients. */
export function meanLoss(params: ParamMap, streams: readonly BatchStream[]): { loss: number; tokens: number } {
  const model = unflattenParams(params);
  let weightedLoss = 0;
  let tokens = 0;
  for (const stream of streams) {
    let state: LstmState | undefined;
    for (const batch of stream) {
      const count = countTokens(batch);
      if (count === 0) continue;
      const out = lossAndState(model, batch, state);
      if (state) tf.dispose([...state.h, ...state.c]);
      state = out.state;
      weightedLoss += out.loss.dataSync()[0] * count;
      tokens += count;
      out.loss.dispose();
    }
    if (state) tf.dispose([...state.h, ...state.c]);
  }
  return { loss: tokens > 0 ? weightedLoss / tokens : 0, tokens };
}

/** Global L2 norm of a gradient map. */
export function globalNorm(map: ParamMap): number {
  return tf.tidy(() => Math.sqrt(tf.addN(Object.values(map).map((g) => tf.sum(tf.square(g)))).dataSync()[0]));
}
