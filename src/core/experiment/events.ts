/**
 * Progress of training and adaptation, as plain data: what the worker sends
 * the host while it meta-trains, adapts or evaluates, and what the training
 * panel draws. No vscode, DOM or worker types.
 */

/** The learners a user can pick; `transfer` is the baseline. */
export const LEARNER_NAMES = ['transfer', 'reptile', 'fomaml', 'meta-sgd', 'meta-network'] as const;
export type LearnerName = (typeof LEARNER_NAMES)[number];

/** Where a task's support set comes from: the file's own first part, or its task-graph neighbours. */
export type SupportKind = 'prefix' | 'neighbours';

export type TrainingPhase =
  /** Nothing has run yet, or the model was reset. */
  | 'idle'
  /** Building tasks (vocabulary, class map, batches) from the indexed files. */
  | 'preparing'
  /** Joint pre-training on every file (the transfer init every learner starts from). */
  | 'pretraining'
  /** The outer loop of the chosen learner. */
  | 'meta-training'
  /** Fitting the neural / n-gram gate on held-out tasks. */
  | 'fitting-gate'
  | 'paused'
  | 'done'
  | 'cancelled'
  | 'error';

export type TrainingEvent =
  /** Whenever the phase changes, and with every step so a status bar can show "step / total". */
  | {
      type: 'training-state';
      phase: TrainingPhase;
      learner: LearnerName;
      /** Steps done and planned in this phase (0 / 0 where it has no steps). */
      step: number;
      totalSteps: number;
      /** Shown to the user as it is (the error text for 'error'). */
      message?: string;
    }
  /** After each pre-training epoch: token-weighted mean training loss, nats per token. */
  | { type: 'pretrain-epoch'; epoch: number; epochs: number; loss: number }
  /** After each outer step: mean query loss after adaptation over the meta-batch, nats per token. */
  | { type: 'outer-step'; learner: LearnerName; step: number; totalSteps: number; metaLoss: number; tasks: string[] }
  /**
   * The inner-loop curve of one task: query loss (nats per token) after
   * k = 0..K inner steps, for `learner` and, when measured, for the transfer
   * baseline from its own init.
   */
  | { type: 'adaptation-curve'; learner: LearnerName; task: string; queryLoss: number[]; baseline?: number[] }
  /** Query loss of each task before and after k-step adaptation, for node colours. */
  | { type: 'task-losses'; learner: LearnerName; k: number; losses: { task: string; before: number; after: number }[] }
  /** Online (dynamic evaluation) loss of the file being edited: mean over `tokens` new tokens, nats per token. */
  | { type: 'online-loss'; task: string; tokens: number; loss: number }
  /** The few-shot table, learners × k: query entropy in bits per token and MRR. */
  | { type: 'fewshot-table'; rows: FewShotRow[] };

export interface FewShotRow {
  learner: string;
  k: number;
  entropy: number;
  mrr: number;
}

export type TrainingSink = (event: TrainingEvent) => void;
