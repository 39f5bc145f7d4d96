import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { makeBatches } from '../neural/batches';
import type { BatchShape, LmBatch } from '../neural/batches';
import { disposeState, forward, unflattenParams } from '../neural/lstm';
import type { LstmState, ParamMap } from '../neural/lstm';
import { runInnerLoop } from '../meta/innerLoop';
import type { AdaptOptions } from '../meta/innerLoop';
import { adaptMetaNetworkToSupport } from '../meta/metaNetwork';
import { DynamicEvaluator } from '../meta/online';
import { MRR_CUTOFF } from '../eval/metrics';
import type { MetricAccumulator } from '../eval/metrics';
import type { TrainedModel } from './model';

/** The adapted model's next-token logits for a batch, continuing `state`; the caller disposes both results. */
export type ForwardFn = (batch: LmBatch, state?: LstmState) => { logits: Tensor3D; state: LstmState };

/** Time steps per forward call when scoring a whole file. */
const SCORING_CHUNK = 128;

/**
 * The class distributions of a model along a file: row r (`vocab` wide)
 * predicts `ids[from + r]` from `ids[0 .. from + r − 1]`, the LSTM state
 * carried through the file from its start.
 *
 * @param from First target position, ≥ 1 (the first token has no context).
 * @returns Float32 `[(ids.length − from) × vocab]`, row-major.
 */
export function classRows(run: ForwardFn, ids: Int32Array, from: number, vocab: number): Float32Array {
  if (!(from >= 1)) throw new RangeError(`Scoring starts at position 1 or later, got ${from}.`);
  const rows = new Float32Array(Math.max(ids.length - from, 0) * vocab);
  let state: LstmState | undefined;
  // Inputs 0 .. n−2 predict targets 1 .. n−1.
  for (let start = 0; start < ids.length - 1; start += SCORING_CHUNK) {
    const steps = Math.min(SCORING_CHUNK, ids.length - 1 - start);
    const batch: LmBatch = {
      batchSize: 1,
      timeSteps: steps,
      inputs: ids.slice(start, start + steps),
      targets: ids.slice(start + 1, start + 1 + steps),
      mask: new Float32Array(steps).fill(1),
    };
    const out = run(batch, state);
    disposeState(state);
    state = out.state;
    // Chunks wholly before `from` only carry the state along.
    if (start + steps + 1 <= from) {
      out.logits.dispose();
      continue;
    }
    const probabilities = tf.tidy(() => tf.softmax(out.logits));
    out.logits.dispose();
    const values = floorProbabilities(probabilities.dataSync() as Float32Array);
    probabilities.dispose();
    for (let t = 0; t < steps; t++) {
      const target = start + 1 + t;
      if (target < from) continue;
      rows.set(values.subarray(t * vocab, (t + 1) * vocab), (target - from) * vocab);
    }
  }
  disposeState(state);
  return rows;
}

/**
 * A float32 softmax rounds classes far below the best one to exactly 0, and
 * a token must never get probability 0: lift them to a floor far below any
 * real probability (UnkHandOver renormalises in float64).
 */
function floorProbabilities(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) if (!(values[i] >= PROBABILITY_FLOOR)) values[i] = PROBABILITY_FLOOR;
  return values;
}
const PROBABILITY_FLOOR = 1e-30;

/** The plain LSTM with parameters `params` as a {@link ForwardFn}. */
export function lstmForward(params: ParamMap): ForwardFn {
  const lstm = unflattenParams(params);
  return (batch, state) => forward(lstm, batch, state);
}

/** How a model's learner steps in its inner loop: Meta-SGD with its learned per-parameter rates, the others at `lr`. */
export function innerRateOf(model: TrainedModel, lr: number): Pick<AdaptOptions, 'lr' | 'lrs'> {
  return model.learner === 'meta-sgd' ? { lrs: model.lrs } : { lr };
}

export interface AdaptationSettings {
  /** Inner SGD rate of θ-adapting learners (Meta-SGD uses its learned rates). */
  innerLr: number;
  /** Rate of the Meta-Network's adapter steps. */
  adapterLr: number;
  innerClip: number;
  shape: BatchShape;
}

/**
 * Adapts a trained model to one file's support tokens (`ids[0 .. support)`)
 * by its learner's own rule, and calls `use` after k inner steps for each k
 * of `ks` (ascending), with the adapted model and, for learners that adapt θ
 * itself, the adapted parameters. Both are valid during the call only.
 * - transfer, Reptile, FOMAML: k SGD steps on θ at `innerLr`;
 * - Meta-SGD: k steps with its learned per-parameter rates;
 * - Meta-Network: the generated FiLM adapter, then k adapter steps.
 * With no support tokens every k sees the unadapted model.
 */
export function adaptAt(
  model: TrainedModel,
  ids: Int32Array,
  support: number,
  ks: readonly number[],
  settings: AdaptationSettings,
  use: (k: number, run: ForwardFn, params: ParamMap | undefined) => void,
): void {
  adaptToSupport(model, [ids.subarray(0, support)], ks, settings, use);
}

/**
 * Calls `use` with the parameters dynamic evaluation starts from on a file
 * whose first `support` ids are its support: θ adapted k steps to the
 * support by the learner's rule, for the learners that adapt θ; θ itself for
 * the Meta-Network, whose adaptation is a FiLM adapter rather than a
 * parameter map that dynamic evaluation could step (there, dynamic
 * evaluation reading the support is the adaptation). The parameters are
 * valid during the call only; `use`'s result is returned.
 */
export function withDynamicStart<T>(
  model: TrainedModel,
  ids: Int32Array,
  support: number,
  k: number,
  settings: AdaptationSettings,
  use: (params: ParamMap) => T,
): T {
  if (model.learner === 'meta-network') return use(model.params);
  let result: T | undefined;
  // adaptAt calls back exactly once for a single k, with θ adapted for these learners.
  adaptAt(model, ids, support, [k], settings, (_k, _run, params) => (result = use(params as ParamMap)));
  return result as T;
}

/**
 * {@link adaptAt} for a support set of several token lists (class ids), such
 * as the tokens of a file's task-graph neighbours: each list is its own
 * stream, so the LSTM state never runs from one file into the next.
 */
export function adaptToSupport(
  model: TrainedModel,
  supports: readonly ArrayLike<number>[],
  ks: readonly number[],
  settings: AdaptationSettings,
  use: (k: number, run: ForwardFn, params: ParamMap | undefined) => void,
): void {
  const sorted = [...ks].sort((a, b) => a - b);
  const streams = supports.map((ids) => makeBatches(ids, settings.shape)).filter((stream) => stream.length > 0);
  if (model.learner === 'meta-network') {
    if (!model.network) throw new Error('This Meta-Network model has no encoder or hyper-network; retrain or re-import it.');
    const networkState = { params: model.params, network: model.network };
    for (const k of sorted) {
      const adapted = adaptMetaNetworkToSupport(networkState, streams, { steps: k, lr: settings.adapterLr });
      try {
        use(k, adapted.forward, undefined);
      } finally {
        adapted.dispose();
      }
    }
    return;
  }
  const maxK = sorted.length === 0 ? 0 : sorted[sorted.length - 1];
  const rate = innerRateOf(model, settings.innerLr);
  if (model.learner === 'meta-sgd' && !model.lrs) throw new Error('This Meta-SGD model has no learned rates; retrain or re-import it.');
  let step = 0;
  let next = 0;
  const result = runInnerLoop(model.params, streams, { steps: maxK, ...rate, clipNorm: settings.innerClip }, (current) => {
    while (next < sorted.length && sorted[next] === step) {
      use(sorted[next], lstmForward(current), current);
      next++;
    }
    step++;
  });
  // Without support tokens the loop stops at once: the remaining k see θ.
  while (next < sorted.length) {
    use(sorted[next], lstmForward(result.params), result.params);
    next++;
  }
  for (const value of Object.values(result.params)) value.dispose();
}

/**
 * Adds the class rows of a query (as {@link classRows}: row r predicts
 * `ids[from + r]`) to `metrics`: the true class's probability, and its rank
 * among the classes for MRR's top-10 list (`<unk>` is a class like any other).
 */
export function addClassScores(metrics: MetricAccumulator, rows: Float32Array, ids: Int32Array, from: number, vocab: number): void {
  for (let position = from; position < ids.length; position++) {
    const row = rows.subarray((position - from) * vocab, (position - from + 1) * vocab);
    metrics.add(Math.min(row[ids[position]], 1), classRankOf(row, ids[position]));
  }
}

/** 0-based rank of `trueClass` in a class distribution when it is in the top {@link MRR_CUTOFF}, else -1 (as `rankOf`). */
export function classRankOf(row: Float32Array, trueClass: number): number {
  const p = row[trueClass];
  let above = 0;
  for (let c = 0; c < row.length; c++) {
    // Ties go to the lower class id, as a stable sort of the top list would.
    if (row[c] > p || (row[c] === p && c < trueClass)) {
      if (++above >= MRR_CUTOFF) return -1;
    }
  }
  return above;
}

export interface DynamicSettings {
  lr: number;
  decay: number;
  segment: number;
  meanSquares?: ParamMap;
}

/**
 * Dynamic evaluation along a file from `params`, one segment at a time: the
 * support tokens are read and adapted to (not scored), then each query
 * segment is scored with the parameters before it and adapted to after.
 * Positions are asked for in increasing order and only the current
 * segment's rows are held, so a long file costs one segment of rows, not
 * `(length − support) × vocab` floats.
 */
export class DynamicRowStream {
  private readonly evaluator: DynamicEvaluator;
  /** First position of the segment in `rows`, and its rows (floored probabilities, `vocab` wide). */
  private segmentStart: number;
  private segmentEnd: number;
  private rows: Float32Array = new Float32Array(0);

  constructor(
    params: ParamMap,
    private readonly ids: Int32Array,
    support: number,
    private readonly vocab: number,
    private readonly settings: DynamicSettings,
  ) {
    if (!(settings.segment >= 1)) throw new RangeError(`Dynamic evaluation needs segments of at least 1 token, got ${settings.segment}.`);
    this.evaluator = new DynamicEvaluator(params, { lr: settings.lr, decay: settings.decay, meanSquares: settings.meanSquares });
    for (let start = 0; start < support; start += settings.segment) {
      this.evaluator.observe(ids.subarray(start, Math.min(start + settings.segment, support)));
    }
    this.segmentStart = support;
    this.segmentEnd = support;
  }

  /** Position `index`'s class distribution (support ≤ index < ids.length), valid until the next call. */
  row(index: number): Float32Array {
    if (index < this.segmentStart || index >= this.ids.length) {
      throw new RangeError(`Dynamic rows go forward through the query: position ${index} is not in ${this.segmentStart}..${this.ids.length - 1}.`);
    }
    while (index >= this.segmentEnd) {
      if (this.segmentEnd > this.segmentStart) this.evaluator.observe(this.ids.subarray(this.segmentStart, this.segmentEnd));
      this.segmentStart = this.segmentEnd;
      this.segmentEnd = Math.min(this.segmentStart + this.settings.segment, this.ids.length);
      this.rows = floorProbabilities(this.evaluator.predict(this.ids.subarray(this.segmentStart, this.segmentEnd)).probabilities);
    }
    const at = (index - this.segmentStart) * this.vocab;
    return this.rows.subarray(at, at + this.vocab);
  }

  dispose(): void {
    this.evaluator.dispose();
  }
}

/**
 * The {@link DynamicRowStream} of the file a position visitor is in, for
 * scorers that walk files one after another (`scorePositions`): a file's
 * stream is opened on its first position and disposed when the next file
 * starts, so one file's evaluator is held at a time. `dispose` the last.
 */
export class FileRowStreams {
  private path: string | undefined;
  private stream: DynamicRowStream | undefined;

  /** The stream of `path`, from `open` on the file's first visit (pass the same `open` for every position of a file). */
  of<S extends DynamicRowStream | undefined>(path: string, open: () => S): S {
    if (path !== this.path) {
      this.dispose();
      this.path = path;
      this.stream = open();
    }
    return this.stream as S;
  }

  dispose(): void {
    this.stream?.dispose();
    this.stream = undefined;
    this.path = undefined;
  }
}

/** Every query position's row of a {@link DynamicRowStream}, one after another (`(length − support) × vocab`). */
export function dynamicRows(params: ParamMap, ids: Int32Array, support: number, vocab: number, settings: DynamicSettings): Float32Array {
  const stream = new DynamicRowStream(params, ids, support, vocab, settings);
  const rows = new Float32Array(Math.max(ids.length - support, 0) * vocab);
  try {
    for (let index = support; index < ids.length; index++) rows.set(stream.row(index), (index - support) * vocab);
  } finally {
    stream.dispose();
  }
  return rows;
}
