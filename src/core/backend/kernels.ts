import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Wasm kernels that `@tensorflow/tfjs-backend-wasm` 4.22 lacks or runs badly.
 * Each is written against the wasm heap directly: inputs are read through
 * `typedArrayFromHeap` (a view, no copy) and the result is written into a
 * buffer from `makeOutput`.
 */

type KernelArgs = { inputs: NamedTensorInfoMap; backend: {}; attrs?: NamedAttrMap };

function inputOf(args: KernelArgs, name: string, kernelName: string): TensorInfo {
  const input = args.inputs[name];
  if (input === undefined) throw new Error(`${kernelName} needs the input ${name}.`);
  return input;
}

/**
 * `UnsortedSegmentSum` on wasm: `out[s, ...] = Σ x[n, ...]` over the `n` with
 * `segmentIds[n] = s`. It is the gradient of `gather` (embedding lookups).
 *
 * Shapes: x `[...segmentShape, ...inner]`, segmentIds `segmentShape` (int32),
 * result `[numSegments, ...inner]`. Ids outside `[0, numSegments)` are dropped,
 * as TensorFlow does. Works in one pass, where the cpu kernel loops over every
 * segment.
 */
function unsortedSegmentSumWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const x = inputOf(args, 'x', tf.UnsortedSegmentSum);
  const segmentIds = inputOf(args, 'segmentIds', tf.UnsortedSegmentSum);
  const numSegments = Number(args.attrs?.numSegments);
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`UnsortedSegmentSum needs a non-negative integer numSegments, got ${String(args.attrs?.numSegments)}.`);
  }
  const segmentRank = segmentIds.shape.length;
  for (let axis = 0; axis < segmentRank; axis++) {
    if (segmentIds.shape[axis] !== x.shape[axis]) {
      throw new Error(
        `UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] must be a prefix of x shape [${x.shape}].`,
      );
    }
  }
  const innerShape = x.shape.slice(segmentRank);
  const innerSize = innerShape.reduce((size, dim) => size * dim, 1);
  const out = backend.makeOutput([numSegments, ...innerShape], x.dtype);
  if (numSegments * innerSize === 0) return out;
  // Views are taken after makeOutput: allocating may grow the heap, which
  // detaches views created before.
  const sums = backend.typedArrayFromHeap(out);
  const values = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  sums.fill(0); // malloc'd memory is not zeroed
  for (let row = 0; row < ids.length; row++) {
    const segment = ids[row];
    if (segment < 0 || segment >= numSegments) continue;
    const from = row * innerSize;
    const to = segment * innerSize;
    for (let k = 0; k < innerSize; k++) sums[to + k] += values[from + k];
  }
  return out;
}

/**
 * Copies the box `begin .. begin + size` of `x` into a new wasm tensor.
 * The stock wasm Slice reads its input through `readSync`, which copies the
 * WHOLE input out of the heap on every call: slicing a [1024, 1024] tensor
 * into 32 steps cost 10-300 ms instead of ~1 ms.
 */
function sliceOnHeap(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const total = size.reduce((product, dim) => product * dim, 1);
  if (total === 0) return out;
  const target = backend.typedArrayFromHeap(out);
  const source = backend.typedArrayFromHeap(x);
  const rank = x.shape.length;
  if (rank === 0) {
    target[0] = source[0];
    return out;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let axis = rank - 2; axis >= 0; axis--) strides[axis] = strides[axis + 1] * x.shape[axis + 1];
  // Axes after `runAxis` are taken whole, so each run over runAxis is one contiguous block.
  let runAxis = rank - 1;
  while (runAxis > 0 && begin[runAxis] === 0 && size[runAxis] === x.shape[runAxis]) runAxis--;
  const runLength = size[runAxis] * strides[runAxis];
  const index = begin.slice(0, runAxis);
  let written = 0;
  for (;;) {
    let offset = begin[runAxis] * strides[runAxis];
    for (let axis = 0; axis < runAxis; axis++) offset += index[axis] * strides[axis];
    target.set(source.subarray(offset, offset + runLength), written);
    written += runLength;
    // Odometer over the leading axes.
    let axis = runAxis - 1;
    while (axis >= 0 && ++index[axis] === begin[axis] + size[axis]) {
      index[axis] = begin[axis];
      axis--;
    }
    if (axis < 0) break;
  }
  return out;
}


/**
 * Stock kernels, kept for the cases a replacement does not cover (string
 * tensors, which live outside the heap; unusual axes).
 */
const stockKernels = new Map<string, KernelConfig['kernelFunc']>();

function stockOrThrow(kernelName: string, general = false): KernelConfig['kernelFunc'] {
  const stock = stockKernels.get(kernelName);
  if (stock === undefined) {
    throw new Error(`${kernelName} on wasm: no stock kernel for ${general ? 'this case' : 'string tensors'}.`);
  }
  return stock;
}

function sliceWasm(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = inputOf(args, 'x', tf.Slice);
  if (x.dtype === 'string') return stockOrThrow(tf.Slice)(args);
  const [begin, size] = tf.slice_util.parseSliceParams(
    x,
    args.attrs?.begin as number | number[],
    args.attrs?.size as number | number[],
  );
  return sliceOnHeap(args.backend as BackendWasm, x, begin, size);
}

function splitVWasm(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = inputOf(args, 'x', tf.SplitV);
  if (x.dtype === 'string') return stockOrThrow(tf.SplitV)(args);
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x, args.attrs?.numOrSizeSplits as number | number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((part) => {
    const size = [...x.shape];
    size[axis] = part;
    const piece = sliceOnHeap(args.backend as BackendWasm, x, [...begin], size);
    begin[axis] += part;
    return piece;
  });
}

function unpackWasm(args: KernelArgs): TensorInfo | TensorInfo[] {
  const value = inputOf(args, 'value', tf.Unpack);
  if (value.dtype === 'string') return stockOrThrow(tf.Unpack)(args);
  const rank = value.shape.length;
  const axis = tf.util.parseAxisParam(args.attrs?.axis as number, value.shape)[0];
  const outShape = value.shape.filter((_, i) => i !== axis);
  const size = [...value.shape];
  size[axis] = 1;
  return Array.from({ length: value.shape[axis] }, (_, i) => {
    const begin = new Array<number>(rank).fill(0);
    begin[axis] = i;
    const piece = sliceOnHeap(args.backend as BackendWasm, value, begin, size);
    return { ...piece, shape: outShape };
  });
}

/**
 * Matrix transpose (`perm` [1, 0]) in 8x8 blocks, 3-5x faster than the stock
 * wasm kernel on the [1024, 256] and [256, 4001] operands of the model's
 * gradients. Other permutations go to the stock kernel.
 */
function transposeWasm(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = inputOf(args, 'x', tf.Transpose);
  const perm = args.attrs?.perm as number[] | undefined;
  if (x.dtype === 'string' || x.shape.length !== 2 || perm?.[0] !== 1 || perm?.[1] !== 0) {
    return stockOrThrow(tf.Transpose, true)(args);
  }
  const backend = args.backend as BackendWasm;
  const [rows, cols] = x.shape;
  const out = backend.makeOutput([cols, rows], x.dtype);
  if (rows * cols === 0) return out;
  const target = backend.typedArrayFromHeap(out);
  const source = backend.typedArrayFromHeap(x);
  const block = 8;
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = Math.min(i0 + block, rows);
    for (let j0 = 0; j0 < cols; j0 += block) {
      const j1 = Math.min(j0 + block, cols);
      for (let i = i0; i < i1; i++) {
        const rowStart = i * cols;
        for (let j = j0; j < j1; j++) target[j * rows + i] = source[rowStart + j];
      }
    }
  }
  return out;
}

/**
 * `gather` along axis 0 as one block copy per index (embedding rows, target
 * logits); ~20x faster than the stock wasm kernel for [4001, 128] by 1024
 * ids. Other axes and batch dims go to the stock kernel.
 */
function gatherWasm(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = inputOf(args, 'x', tf.GatherV2);
  const indices = inputOf(args, 'indices', tf.GatherV2);
  const axis = tf.util.parseAxisParam((args.attrs?.axis as number | undefined) ?? 0, x.shape)[0];
  const batchDims = (args.attrs?.batchDims as number | undefined) ?? 0;
  if (x.dtype === 'string' || axis !== 0 || batchDims !== 0 || x.shape.length === 0) {
    return stockOrThrow(tf.GatherV2, true)(args);
  }
  const backend = args.backend as BackendWasm;
  const rowCount = x.shape[0];
  const rowSize = x.shape.slice(1).reduce((size, dim) => size * dim, 1);
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const count = indices.shape.reduce((size, dim) => size * dim, 1);
  if (count * rowSize === 0) return out;
  const target = backend.typedArrayFromHeap(out);
  const source = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(indices);
  for (let n = 0; n < count; n++) {
    const id = ids[n];
    if (id < 0 || id >= rowCount) {
      backend.disposeData(out.dataId);
      throw new Error(`GatherV2: index ${id} is not in [0, ${rowCount - 1}].`);
    }
    if (rowSize === 1) target[n] = source[id];
    else target.set(source.subarray(id * rowSize, (id + 1) * rowSize), n * rowSize);
  }
  return out;
}

/**
 * Identity (tf.clone, and the copies customGrad makes of saved tensors) as a
 * shared reference, as the wasm Reshape and the cpu Identity already do; the
 * stock wasm kernel copies, 16 MB for the saved softmax of a training step.
 * Safe because kernels never write into their inputs.
 */
function identityWasm(args: KernelArgs): TensorInfo | TensorInfo[] {
  const x = inputOf(args, 'x', tf.Identity);
  if (x.dtype === 'string') return stockOrThrow(tf.Identity)(args);
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/**
 * The softmax cross-entropy gradient in one pass, a kernel of our own:
 * `out[n, c] = s[n] · (p[n, c] if p[n, c] > threshold else 0) − s[n]·[c = t[n]]`
 * for probabilities p `[rows, classes]`, targets t `[rows]` (int32) and row
 * scales s `[rows]`. Composed from stock ops it takes a one-hot, a cast, a
 * step and two products, each a logits-sized tensor alive until the
 * backward pass ends: on the model's batches that tripled the wasm heap a
 * training step needs (the heap never shrinks again).
 */
export const SOFTMAX_RESIDUAL = 'MetaCompleteSoftmaxResidual';

function softmaxResidualValues(
  probabilities: ArrayLike<number>,
  targets: ArrayLike<number>,
  scales: ArrayLike<number>,
  out: Float32Array,
  classes: number,
  threshold: number,
): void {
  for (let row = 0; row < scales.length; row++) {
    const scale = scales[row];
    const from = row * classes;
    for (let c = 0; c < classes; c++) {
      const p = probabilities[from + c];
      out[from + c] = p > threshold ? p * scale : 0;
    }
    const target = targets[row];
    if (target >= 0 && target < classes) out[from + target] -= scale;
  }
}

function residualInputs(args: KernelArgs): { probabilities: TensorInfo; targets: TensorInfo; scales: TensorInfo; threshold: number } {
  const probabilities = inputOf(args, 'probabilities', SOFTMAX_RESIDUAL);
  const targets = inputOf(args, 'targets', SOFTMAX_RESIDUAL);
  const scales = inputOf(args, 'scales', SOFTMAX_RESIDUAL);
  const threshold = Number(args.attrs?.threshold ?? 0);
  const [rows] = probabilities.shape;
  if (probabilities.shape.length !== 2 || probabilities.dtype !== 'float32') throw new Error(`${SOFTMAX_RESIDUAL} needs float32 probabilities [rows, classes].`);
  if (targets.shape.length !== 1 || targets.shape[0] !== rows || targets.dtype !== 'int32') throw new Error(`${SOFTMAX_RESIDUAL} needs int32 targets [${rows}].`);
  if (scales.shape.length !== 1 || scales.shape[0] !== rows || scales.dtype !== 'float32') throw new Error(`${SOFTMAX_RESIDUAL} needs float32 scales [${rows}].`);
  return { probabilities, targets, scales, threshold };
}

function softmaxResidualWasm(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { probabilities, targets, scales, threshold } = residualInputs(args);
  const out = backend.makeOutput([...probabilities.shape], 'float32');
  // Views after makeOutput: allocating may grow the heap and detach older views.
  softmaxResidualValues(
    backend.typedArrayFromHeap(probabilities),
    backend.typedArrayFromHeap(targets),
    backend.typedArrayFromHeap(scales),
    backend.typedArrayFromHeap(out) as Float32Array,
    probabilities.shape[1],
    threshold,
  );
  return out;
}

/** The same on the pure-JS backend, so that a machine without wasm trains with the same numbers. */
function softmaxResidualCpu(args: KernelArgs): TensorInfo {
  const backend = args.backend as { data: { get(id: object): { values: ArrayLike<number> } }; makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo };
  const { probabilities, targets, scales, threshold } = residualInputs(args);
  const values = new Float32Array(probabilities.shape[0] * probabilities.shape[1]);
  const read = (info: TensorInfo) => backend.data.get(info.dataId).values;
  softmaxResidualValues(read(probabilities), read(targets), read(scales), values, probabilities.shape[1], threshold);
  return backend.makeTensorInfo([...probabilities.shape], 'float32', values);
}

const ownKernels: readonly KernelConfig[] = [
  { kernelName: SOFTMAX_RESIDUAL, backendName: 'wasm', kernelFunc: softmaxResidualWasm },
  { kernelName: SOFTMAX_RESIDUAL, backendName: 'cpu', kernelFunc: softmaxResidualCpu },
];

/** Kernels the wasm backend lacks. */
const missingWasmKernels: readonly KernelConfig[] = [
  { kernelName: tf.UnsortedSegmentSum, backendName: 'wasm', kernelFunc: unsortedSegmentSumWasm },
];

/** Replacements for stock wasm kernels that are slow on the model's shapes. */
const fasterWasmKernels: readonly KernelConfig[] = [
  { kernelName: tf.Slice, backendName: 'wasm', kernelFunc: sliceWasm },
  { kernelName: tf.SplitV, backendName: 'wasm', kernelFunc: splitVWasm },
  { kernelName: tf.Unpack, backendName: 'wasm', kernelFunc: unpackWasm },
  { kernelName: tf.Transpose, backendName: 'wasm', kernelFunc: transposeWasm },
  { kernelName: tf.GatherV2, backendName: 'wasm', kernelFunc: gatherWasm },
  { kernelName: tf.Identity, backendName: 'wasm', kernelFunc: identityWasm },
];

/** Names of the kernels this module registers for the wasm backend. */
export const ADDED_WASM_KERNELS: readonly string[] = missingWasmKernels.map((kernel) => kernel.kernelName);
export const REPLACED_WASM_KERNELS: readonly string[] = fasterWasmKernels.map((kernel) => kernel.kernelName);

/**
 * Registers the missing wasm kernels and the faster replacements.
 * Idempotent; a missing kernel that a later tfjs release ships is left alone.
 */
export function registerWasmKernels(): void {
  for (const kernel of [...missingWasmKernels, ...ownKernels]) {
    if (tf.getKernel(kernel.kernelName, kernel.backendName) === undefined) tf.registerKernel(kernel);
  }
  for (const kernel of fasterWasmKernels) {
    const current = tf.getKernel(kernel.kernelName, kernel.backendName);
    if (current?.kernelFunc === kernel.kernelFunc) continue;
    if (current === undefined) {
      tf.registerKernel(kernel);
      continue;
    }
    stockKernels.set(kernel.kernelName, current.kernelFunc);
    tf.unregisterKernel(kernel.kernelName, kernel.backendName);
    // Keep the stock setup: it binds the wasm function that the stock kernel,
    // and other stock kernels calling it internally, rely on.
    tf.registerKernel({ ...kernel, setupFunc: current.setupFunc, disposeFunc: current.disposeFunc });
  }
}
