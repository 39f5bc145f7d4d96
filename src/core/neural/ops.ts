import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Scalar, Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { SOFTMAX_RESIDUAL } from '../backend/kernels';

/**
 * Differentiable building blocks with hand-written gradients, shaped by what
 * the wasm backend does fast (ARCHITECTURE.md, "Numeric backend"):
 * - matMul with transposeA/transposeB is ~15x slower than an explicit
 *   transpose plus a plain matMul, and the stock matMul gradient uses the flags;
 * - reductions over axis 0 transpose the whole tensor first, so column sums
 *   are done as `ones[1, n] x m`;
 * - denormal floats slow matMul ~100x and wasm cannot flush them, so gradient
 *   sources flush values below {@link FLUSH_THRESHOLD} to zero.
 * Gradients are first order: the backward passes are not themselves
 * differentiable, which first-order MAML, Reptile and Meta-SGD do not need.
 *
 * The CommonJS build of tfjs-core registers no stock gradients (they ship
 * only as ES modules), so every op on the model's loss path is one of these.
 */

/**
 * Magnitudes below this are set to zero in gradients. Far below anything that
 * moves a float32 weight, and large enough that its products with activations
 * stay normal floats.
 */
export const FLUSH_THRESHOLD = 1e-24;

/** `x` with every |value| < threshold replaced by 0 (same shape). */
export function flushTiny<T extends Tensor>(x: T, threshold = FLUSH_THRESHOLD): T {
  return tf.tidy(() => tf.mul(x, tf.step(tf.sub(tf.abs(x), threshold))) as T);
}

/** Like {@link flushTiny} for tensors known to be non-negative (probabilities); one op cheaper. */
export function flushTinyNonNegative<T extends Tensor>(x: T, threshold = FLUSH_THRESHOLD): T {
  return tf.tidy(() => tf.mul(x, tf.step(tf.sub(x, threshold))) as T);
}

/** Column sums of `m` `[rows, cols]` as `[cols]`, via a matMul (see module note). */
export function columnSums(m: Tensor2D): Tensor1D {
  return tf.tidy(() => tf.reshape(tf.matMul(tf.ones([1, m.shape[0]]), m), [m.shape[1]]));
}

/** Rows `start .. start + count` of `x [rows, cols]` → `[count, cols]`; the gradient pads with zeros. */
export function sliceRows(x: Tensor2D, start: number, count: number): Tensor2D {
  const rows = x.shape[0];
  const slice = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [input] = args as [Tensor2D];
    return {
      value: tf.slice(input, [start, 0], [count, input.shape[1]]),
      gradFunc: (dy: Tensor) => [tf.pad(dy as Tensor2D, [[start, rows - start - count], [0, 0]])],
    };
  });
  return slice(x) as Tensor2D;
}

/** `xᵀ` for `x [rows, cols]`, with its gradient (`dyᵀ`): the stock transpose has none in this build of tfjs-core. */
export function transpose2d(x: Tensor2D): Tensor2D {
  const transposed = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [input] = args as [Tensor2D];
    return { value: tf.transpose(input), gradFunc: (dy: Tensor) => [tf.transpose(dy)] };
  });
  return transposed(x) as Tensor2D;
}

/**
 * `a x b` for `a [n, k]`, `b [k, m]` → `[n, m]`, whose gradient transposes
 * explicitly: `da = dy x bᵀ`, `db = aᵀ x dy`.
 */
export function matMul(a: Tensor2D, b: Tensor2D): Tensor2D {
  const product = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [x, y, save] = args as [Tensor2D, Tensor2D, GradSaveFunc];
    save([x, y]);
    return {
      value: tf.matMul(x, y),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xSaved, ySaved] = saved as [Tensor2D, Tensor2D];
        return [
          tf.matMul(dy as Tensor2D, tf.transpose(ySaved)),
          tf.matMul(tf.transpose(xSaved), dy as Tensor2D),
        ];
      },
    };
  });
  return product(a, b) as Tensor2D;
}

/**
 * Affine map `x x kernel + bias`: x `[n, in]`, kernel `[in, out]`, bias
 * `[out]` → `[n, out]`, with explicit transposes and a matMul column sum in
 * the gradient.
 */
export function dense(x: Tensor2D, kernel: Tensor2D, bias: Tensor1D): Tensor2D {
  const affine = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [input, weights, offset, save] = args as [Tensor2D, Tensor2D, Tensor1D, GradSaveFunc];
    save([input, weights]);
    return {
      value: tf.add(tf.matMul(input, weights), offset),
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [inputSaved, weightsSaved] = saved as [Tensor2D, Tensor2D];
        const gradient = dy as Tensor2D;
        return [
          tf.matMul(gradient, tf.transpose(weightsSaved)),
          tf.matMul(tf.transpose(inputSaved), gradient),
          columnSums(gradient),
        ];
      },
    };
  });
  return affine(x, kernel, bias) as Tensor2D;
}

/**
 * Rows of `table [vocab, dim]` at `ids` (int32 `[n]`) → `[n, dim]`. The
 * gradient is an `unsortedSegmentSum` straight into `[vocab, dim]`, without
 * the identity transposes of the stock gather gradient.
 */
export function embeddingLookup(table: Tensor2D, ids: Tensor1D): Tensor2D {
  const vocabSize = table.shape[0];
  const lookup = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [weights, save] = args as [Tensor2D, GradSaveFunc];
    save([ids]);
    return {
      value: tf.gather(weights, ids),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.unsortedSegmentSum(dy, saved[0] as Tensor1D, vocabSize)],
    };
  });
  return lookup(table) as Tensor2D;
}

/**
 * Each row's softmax cross-entropy `−log softmax(zₙ)[targetₙ]` in nats, and
 * the softmax itself. No `[n, classes]` one-hot is built: the target logits
 * are gathered, so scoring a large batch costs two logits-sized tensors.
 */
export function crossEntropyRows(z: Tensor2D, targets: Tensor1D): { probabilities: Tensor2D; losses: Tensor1D } {
  const [rows, classes] = z.shape;
  const probabilities = tf.softmax(z);
  const logSumExp = tf.sub(tf.max(z, 1), tf.log(tf.max(probabilities, 1)));
  const targetPositions = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(classes, 'int32')), targets);
  const targetLogits = tf.gather(tf.reshape(z, [rows * classes]), targetPositions);
  return { probabilities, losses: tf.sub(logSumExp, targetLogits) as Tensor1D };
}

/**
 * `(flush(p) − onehot(targets)) · scales` per row, the softmax cross-entropy
 * gradient: one pass of our own kernel where the backend has it (wasm, cpu;
 * see SOFTMAX_RESIDUAL), else composed from stock ops.
 */
export function softmaxResidual(probabilities: Tensor2D, targets: Tensor1D, scales: Tensor1D): Tensor2D {
  if (tf.getKernel(SOFTMAX_RESIDUAL, tf.getBackend()) !== undefined) {
    return tf.engine().runKernel(SOFTMAX_RESIDUAL, { probabilities, targets, scales }, { threshold: FLUSH_THRESHOLD }) as Tensor2D;
  }
  return tf.tidy(() => {
    const classes = probabilities.shape[1];
    // The wasm OneHot kernel writes integer bits when asked for float32 (tfjs 4.22), hence int32 and a cast.
    const targetIndicator = tf.cast(tf.oneHot(targets, classes), 'float32');
    const residual = tf.sub(flushTinyNonNegative(probabilities), targetIndicator);
    return tf.mul(residual, tf.reshape(scales, [probabilities.shape[0], 1]));
  });
}

/**
 * Weighted softmax cross-entropy `Σₙ wₙ · (−log softmax(logitsₙ)[targetₙ])`
 * in nats, as a scalar. logits `[n, classes]`, targets int32 `[n]`, weights
 * `[n]` (e.g. mask / token count for a mean).
 *
 * The log-sum-exp comes from the wasm softmax kernel (xnnpack, ~8x faster
 * than tf.exp there) as `max(z) − log(max(softmax(z)))`, which cannot
 * underflow because the largest probability is at least 1/classes. The
 * gradient `(softmax − onehot) · w` has tiny probabilities flushed to zero.
 */
export function softmaxCrossEntropy(logits: Tensor2D, targets: Tensor1D, weights: Tensor1D): Scalar {
  const crossEntropy = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [z, save] = args as [Tensor2D, GradSaveFunc];
    const { probabilities, losses } = crossEntropyRows(z, targets);
    const value = tf.sum(tf.mul(losses, weights));
    save([probabilities, targets, weights]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [probabilitiesSaved, targetsSaved, weightsSaved] = saved as [Tensor2D, Tensor1D, Tensor1D];
        return [softmaxResidual(probabilitiesSaved, targetsSaved, tf.mul(weightsSaved, dy) as Tensor1D)];
      },
    };
  });
  return crossEntropy(logits) as Scalar;
}
