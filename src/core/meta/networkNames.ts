// Tensor-free, so the checkpoint format (and with it the extension host) can name
// the Meta-Network's parameters without bundling TensorFlow.js.

/** Parameter names of the encoder (meta head) and hyper-network (meta tail). */
export const NETWORK_NAMES = {
  /** `[embed, task]`, applied to the current token's embedding. */
  encoderInput: 'encoder.input',
  /** `[embed, task]`, applied to the next token's embedding. */
  encoderTarget: 'encoder.target',
  /** `[task]`. */
  encoderBias: 'encoder.bias',
  /** `[task, 2 * embed + 2 * hidden]`: task embedding → adapter row [γᵢ, βᵢ, γₒ, βₒ]. */
  hyperKernel: 'hyper.kernel',
  /** `[2 * embed + 2 * hidden]`. */
  hyperBias: 'hyper.bias',
} as const;
