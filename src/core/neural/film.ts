import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Scalar, Tensor, Tensor1D, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import type { LmBatch } from './batches';
import { forward, lossAndState } from './lstm';
import type { LstmParams, LstmState, StackHooks } from './lstm';
import { columnSums, flushTiny } from './ops';

/**
 * FiLM adapters on the LSTM LM (Perez et al. 2018), at two sites:
 * - input: the embedding rows fed to the first layer, `x' = (1 + γᵢ) ⊙ x + βᵢ`.
 *   βᵢ acts as a task code the LSTM can combine with each token nonlinearly;
 * - output: the top layer's hidden states before the output layer,
 *   `h' = (1 + γₒ) ⊙ h + βₒ`.
 * All-zero γ and β give the un-adapted model. The four travel as one adapter
 * row `[1, 2 * embed + 2 * hidden]` laid out [γᵢ, βᵢ, γₒ, βₒ], which is what
 * a hyper-network emits in one dense layer.
 *
 * Every op on these paths carries its own gradient (see ops.ts), so
 * `tf.grads` reaches the LSTM parameters and the FiLM row alike.
 */

/**
 * `(1 + γ) ⊙ h + β` for `hidden [n, size]` and `gammaBeta [1, 2 * size]`
 * → `[n, size]`. Gradients: `dh = dy ⊙ (1 + γ)`, `dγ = Σₙ dy ⊙ h`, `dβ = Σₙ dy`.
 */
export function film(hidden: Tensor2D, gammaBeta: Tensor2D): Tensor2D {
  const size = hidden.shape[1];
  if (gammaBeta.rank !== 2 || gammaBeta.shape[0] !== 1 || gammaBeta.shape[1] !== 2 * size) {
    throw new Error(`film: gammaBeta [${gammaBeta.shape}] does not fit hidden size ${size}; expected [1, ${2 * size}].`);
  }
  const modulate = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [h, row, save] = args as [Tensor2D, Tensor2D, GradSaveFunc];
    const [gamma, beta] = tf.split(row, 2, 1) as [Tensor2D, Tensor2D];
    const scale = tf.add(gamma, 1);
    save([h, scale]);
    return {
      value: tf.add(tf.mul(h, scale), beta) as Tensor2D,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [hSaved, scaleSaved] = saved as [Tensor2D, Tensor2D];
        const gradient = dy as Tensor2D;
        const dGamma = columnSums(tf.mul(gradient, hSaved) as Tensor2D);
        const dBeta = columnSums(gradient);
        return [tf.mul(gradient, scaleSaved), tf.reshape(tf.concat([dGamma, dBeta], 0), [1, 2 * size])];
      },
    };
  });
  return modulate(hidden, gammaBeta) as Tensor2D;
}

/** Width of the adapter row for a model: `2 * embed + 2 * hidden`. */
export function adapterSize(params: LstmParams): number {
  return 2 * params.embedding.shape[1] + 2 * params.outputKernel.shape[0];
}

/** Columns `start .. start + count` of a row `[1, cols]`; the gradient pads with zeros. */
export function sliceColumns(row: Tensor2D, start: number, count: number): Tensor2D {
  const columns = row.shape[1];
  const slice = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [input] = args as [Tensor2D];
    return {
      value: tf.slice(input, [0, start], [1, count]),
      gradFunc: (dy: Tensor) => [tf.pad(dy as Tensor2D, [[0, 0], [start, columns - start - count]])],
    };
  });
  return slice(row) as Tensor2D;
}

/** `tanh(x)` with the gradient `dy ⊙ (1 − tanh²)`, flushed. */
export function tanhOp<T extends Tensor>(x: T): T {
  const squash = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [input, save] = args as [Tensor, GradSaveFunc];
    const value = tf.tanh(input);
    save([value]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => [flushTiny(tf.mul(dy, tf.sub(1, tf.square(saved[0]))))],
    };
  });
  return squash(x) as T;
}

/**
 * `a · kernelA + b · kernelB + bias` for `a [n, inA]`, `b [n, inB]`,
 * kernels `[in·, out]`, bias `[out]` → `[n, out]`: a dense layer on the
 * concatenation `[a; b]` without materialising it. Explicit transposes in
 * the gradient.
 */
export function pairDense(a: Tensor2D, b: Tensor2D, kernelA: Tensor2D, kernelB: Tensor2D, bias: Tensor1D): Tensor2D {
  const affine = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [x, y, wx, wy, offset, save] = args as [Tensor2D, Tensor2D, Tensor2D, Tensor2D, Tensor1D, GradSaveFunc];
    save([x, y, wx, wy]);
    return {
      value: tf.add(tf.add(tf.matMul(x, wx), tf.matMul(y, wy)), offset) as Tensor2D,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xs, ys, wxs, wys] = saved as [Tensor2D, Tensor2D, Tensor2D, Tensor2D];
        const gradient = dy as Tensor2D;
        return [
          tf.matMul(gradient, tf.transpose(wxs)),
          tf.matMul(gradient, tf.transpose(wys)),
          tf.matMul(tf.transpose(xs), gradient),
          tf.matMul(tf.transpose(ys), gradient),
          columnSums(gradient),
        ];
      },
    };
  });
  return affine(a, b, kernelA, kernelB, bias) as Tensor2D;
}

/**
 * Weighted sum of the rows of `x [n, cols]` with constant `weights [n]` →
 * `[1, cols]` (a mean when the weights sum to 1). Gradient: `weightsᵀ · dy`.
 */
export function weightedRowSum(x: Tensor2D, weights: Tensor1D): Tensor2D {
  const rows = x.shape[0];
  const reduce = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
    const [input, save] = args as [Tensor2D, GradSaveFunc];
    // Saved so that the weights outlive the caller's tidy until the backward pass.
    save([weights]);
    return {
      value: tf.matMul(tf.reshape(weights, [1, rows]), input),
      gradFunc: (dy: Tensor, saved: Tensor[]) => [tf.matMul(tf.reshape(saved[0], [rows, 1]), dy as Tensor2D)],
    };
  });
  return reduce(x) as Tensor2D;
}

/**
 * Both FiLM sites as hooks on the LSTM stack: the input site on the embedded
 * tokens, the output site on the top hidden states.
 *
 * @param adapter `[1, 2 * embed + 2 * hidden]`, laid out [γᵢ, βᵢ, γₒ, βₒ].
 */
function filmHooks(params: LstmParams, adapter: Tensor2D): StackHooks {
  const embedSize = params.embedding.shape[1];
  const hiddenSize = params.outputKernel.shape[0];
  if (adapter.rank !== 2 || adapter.shape[0] !== 1 || adapter.shape[1] !== adapterSize(params)) {
    throw new Error(`FiLM adapter [${adapter.shape}] does not fit the model; expected [1, ${adapterSize(params)}].`);
  }
  return {
    input: (embedded) => film(embedded, sliceColumns(adapter, 0, 2 * embedSize)),
    output: (hidden) => film(hidden, sliceColumns(adapter, 2 * embedSize, 2 * hiddenSize)),
  };
}

/**
 * Mean cross-entropy in nats over the unmasked positions of `batch` with the
 * FiLM adapter applied, and the final recurrent state. Differentiable in
 * `params` and `adapter`; the incoming state is a constant (truncated BPTT),
 * as in lstm.ts's `lossAndState`.
 *
 * @param adapter `[1, 2 * embed + 2 * hidden]`, laid out [γᵢ, βᵢ, γₒ, βₒ].
 */
export function lossWithFilm(
  params: LstmParams,
  adapter: Tensor2D,
  batch: LmBatch,
  state?: LstmState,
): { loss: Scalar; state: LstmState } {
  return lossAndState(params, batch, state, filmHooks(params, adapter));
}

/**
 * Next-token logits `[batch, time, vocab]` with the FiLM adapter applied, and
 * the final state; the caller disposes both. For inference.
 */
export function forwardWithFilm(
  params: LstmParams,
  adapter: Tensor2D,
  batch: LmBatch,
  state?: LstmState,
): { logits: Tensor3D; state: LstmState } {
  return forward(params, batch, state, filmHooks(params, adapter));
}
