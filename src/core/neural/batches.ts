/**
 * Language-model batches as plain typed arrays, so they cross the worker
 * boundary as they are and need no disposal. Tensors are made inside the
 * model call.
 */

/** Class id of `<unk>`: every token outside the model's vocabulary maps here. */
export const UNK_CLASS = 0;

/**
 * One batch of next-token prediction, row-major `[batchSize, timeSteps]`:
 * `targets[b, t]` is the token that follows `inputs[b, t]`; positions with
 * `mask` 0 are padding and do not count in the loss.
 */
export interface LmBatch {
  readonly batchSize: number;
  readonly timeSteps: number;
  /** Int32 `[batch, time]` class ids. */
  readonly inputs: Int32Array;
  /** Int32 `[batch, time]` class ids. */
  readonly targets: Int32Array;
  /** Float32 `[batch, time]`, 1 for real positions and 0 for padding. */
  readonly mask: Float32Array;
}

export interface BatchShape {
  batchSize: number;
  timeSteps: number;
}

/**
 * Cuts a stream of class ids into batches for truncated BPTT. The stream is
 * split into `batchSize` contiguous lanes of equal length, and batch k holds
 * segment k of every lane, so row b of batch k+1 continues row b of batch k:
 * carry the LSTM state from one batch to the next. The ragged end is padded
 * with `UNK_CLASS` and masked out; the last batch has `timeSteps` or fewer
 * steps, as many as its longest lane needs.
 */
export function makeBatches(classIds: ArrayLike<number>, shape: BatchShape): LmBatch[] {
  const { batchSize, timeSteps } = shape;
  if (!Number.isInteger(batchSize) || batchSize < 1 || !Number.isInteger(timeSteps) || timeSteps < 1) {
    throw new RangeError(`Batch shape must be positive integers, got batch ${batchSize} x time ${timeSteps}.`);
  }
  const predictions = Math.max(classIds.length - 1, 0);
  if (predictions === 0) return [];
  const laneLength = Math.ceil(predictions / batchSize);
  const batchCount = Math.ceil(laneLength / timeSteps);
  const batches: LmBatch[] = [];
  for (let k = 0; k < batchCount; k++) {
    // The last batch is only as long as its longest lane still runs: the steps after it would be padding in every
    // lane (a 128-token support over 8 lanes fills 16 of 32 steps), and its outgoing state goes nowhere.
    const steps = Math.min(timeSteps, laneLength - k * timeSteps);
    const size = batchSize * steps;
    const inputs = new Int32Array(size).fill(UNK_CLASS);
    const targets = new Int32Array(size).fill(UNK_CLASS);
    const mask = new Float32Array(size);
    for (let b = 0; b < batchSize; b++) {
      const laneEnd = Math.min((b + 1) * laneLength, predictions);
      for (let t = 0; t < steps; t++) {
        const position = b * laneLength + k * timeSteps + t;
        if (position >= laneEnd) break;
        const cell = b * steps + t;
        inputs[cell] = classIds[position];
        targets[cell] = classIds[position + 1];
        mask[cell] = 1;
      }
    }
    batches.push({ batchSize, timeSteps: steps, inputs, targets, mask });
  }
  return batches;
}

/**
 * Maps global token ids to model classes: the `k` most frequent tokens get
 * classes 1..k by descending count (ties by lower id), everything else
 * `UNK_CLASS`. The model's probability of `<unk>` is then the total mass of
 * the out-of-vocabulary tokens; a caller that needs a probability for one
 * such token must share that mass out (the n-gram model will).
 *
 * @param counts `counts[tokenId]` = occurrences.
 * @returns Int32 `[counts.length]` class of each token id.
 */
export function topKClasses(counts: ArrayLike<number>, k: number): Int32Array {
  const order = Array.from({ length: counts.length }, (_, id) => id)
    .filter((id) => counts[id] > 0)
    .sort((a, b) => counts[b] - counts[a] || a - b);
  const classes = new Int32Array(counts.length).fill(UNK_CLASS);
  const kept = Math.min(k, order.length);
  for (let rank = 0; rank < kept; rank++) classes[order[rank]] = rank + 1;
  return classes;
}

/** Applies a class map from {@link topKClasses}; ids beyond the map are `<unk>`. */
export function toClassIds(tokenIds: ArrayLike<number>, classOfToken: Int32Array): Int32Array {
  const classIds = new Int32Array(tokenIds.length);
  for (let i = 0; i < tokenIds.length; i++) {
    const id = tokenIds[i];
    classIds[i] = id >= 0 && id < classOfToken.length ? classOfToken[id] : UNK_CLASS;
  }
  return classIds;
}

/** Number of real (unmasked) prediction positions, i.e. the mask's sum. */
export function countTokens(batch: LmBatch): number {
  let total = 0;
  for (let i = 0; i < batch.mask.length; i++) total += batch.mask[i];
  return total;
}

/** `[batch, time]` row-major → `[time, batch]` row-major, the layout the LSTM loop slices. */
export function toTimeMajor<T extends Int32Array | Float32Array>(values: T, batchSize: number, timeSteps: number): T {
  const result = new (values.constructor as new (length: number) => T)(values.length);
  for (let b = 0; b < batchSize; b++) {
    for (let t = 0; t < timeSteps; t++) result[t * batchSize + b] = values[b * timeSteps + t];
  }
  return result;
}
