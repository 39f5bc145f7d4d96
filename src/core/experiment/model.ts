import type { Tensor } from '@tensorflow/tfjs-core';
import type { GateParameters } from '../mix/gate';
import type { LstmConfig, ParamMap } from '../neural/lstm';
import type { LearnerName, SupportKind } from './events';

/** Class 0 of every model: out-of-vocabulary tokens, handed over to the n-gram model. */
export const UNK_TOKEN = '<unk>';

/** The hyper-parameters a trained model was made with, and that adapting it uses again. */
export interface ModelHyperParameters {
  /** Inner SGD learning rate (Meta-SGD: the rates' initial value; it learns its own). */
  innerLr: number;
  /** Inner steps k used in meta-training. */
  innerSteps: number;
  /** Meta-Network objective α·L_task + β·L_meta. */
  alpha: number;
  beta: number;
  /** Dynamic evaluation: RMS-normalised step size and decay toward θ₀. */
  dynamicLr: number;
  dynamicDecay: number;
  /** Tokens per dynamic-evaluation segment. */
  dynamicSegment: number;
  /** Support set used in meta-training. */
  support: SupportKind;
  /** Fraction of a file used as support with `support: 'prefix'`. */
  supportFraction: number;
  seed: number;
}

/**
 * Everything a trained MetaComplete model is: what a checkpoint holds, what
 * `train` writes and `eval --checkpoint` / the extension read. Tensors are
 * owned by this object; `disposeTrainedModel` frees them.
 */
export interface TrainedModel {
  learner: LearnerName;
  config: LstmConfig;
  /** `classTokens[c]` is the token of class c; `classTokens[0]` is `UNK_TOKEN`. Length `config.vocabSize`. */
  classTokens: string[];
  /** The meta-learned initialisation θ (names as `flattenParams`). */
  params: ParamMap;
  /** Meta-SGD's per-parameter inner learning rates (same names and shapes as `params`). */
  lrs?: ParamMap;
  /** Meta-Network's task encoder and hyper-network (names as `NETWORK_NAMES`). */
  network?: ParamMap;
  /** Mean squared gradients for dynamic evaluation (same names as `params`). */
  meanSquares?: ParamMap;
  /** The neural / n-gram gate, fitted on held-out tasks. */
  gate?: GateParameters;
  hyper: ModelHyperParameters;
  /** What training saw and measured, for the user (files, tokens, steps, final meta-loss, wall time, backend). */
  provenance: Record<string, string | number>;
}

/** Every tensor group of a model, by group name (`params`, `lrs`, `network`, `meanSquares`). */
export function tensorGroupsOf(model: TrainedModel): Record<string, ParamMap> {
  const groups: Record<string, ParamMap> = { params: model.params };
  if (model.lrs) groups.lrs = model.lrs;
  if (model.network) groups.network = model.network;
  if (model.meanSquares) groups.meanSquares = model.meanSquares;
  return groups;
}

export function disposeTrainedModel(model: TrainedModel): void {
  const tensors: Tensor[] = [];
  for (const group of Object.values(tensorGroupsOf(model))) tensors.push(...Object.values(group));
  for (const tensor of tensors) tensor.dispose();
}
