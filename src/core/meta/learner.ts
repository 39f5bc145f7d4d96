import type { ParamMap } from '../neural/lstm';
import { cloneParams, disposeMap } from './paramMaps';
import type { MetaTask } from './tasks';

/** Hyper-parameters of one outer (meta) step. */
export interface OuterStepOptions {
  /** Inner SGD steps k on each task's support set. */
  innerSteps: number;
  /** Inner learning rate (Meta-SGD learns its own, see metaSgd.ts). */
  innerLr: number;
  /** Outer learning rate: ε for Reptile, β for FOMAML, Meta-SGD and transfer. */
  outerLr: number;
}

export interface OuterStepResult<State> {
  /** The updated state, new tensors; the input state is left alone. */
  state: State;
  /** Mean over the meta-batch of the query loss after adaptation, nats per token. */
  metaLoss: number;
}

/**
 * A meta-learner as a pure step function over its state (the initialisation
 * θ, plus whatever else it learns, e.g. Meta-SGD's rates).
 */
export interface MetaLearner<State> {
  readonly name: string;
  outerStep(state: State, tasks: readonly MetaTask[], options: OuterStepOptions): OuterStepResult<State>;
  /** The initialisation θ the state holds (shared, not copied). */
  paramsOf(state: State): ParamMap;
  /** Independent copy of a state. */
  cloneState(state: State): State;
  disposeState(state: State): void;
}

export function requireTasks(tasks: readonly MetaTask[], who: string): void {
  if (tasks.length === 0) throw new Error(`${who}: the meta-batch is empty; pass at least one task.`);
}

/** A learner whose whole state is the initialisation θ (Reptile, FOMAML, transfer). */
export function paramMapLearner(name: string, outerStep: MetaLearner<ParamMap>['outerStep']): MetaLearner<ParamMap> {
  return { name, outerStep, paramsOf: (state) => state, cloneState: cloneParams, disposeState: disposeMap };
}
