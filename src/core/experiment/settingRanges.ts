// The valid range of every numeric training setting and model field, in one
// tensor-free module: the host's settings reader, the worker's training start,
// the CLI and the checkpoint validator all take their bounds from here.

/** The highest n-gram order CountTrie counts; the CLI's --order and a checkpoint's gate order are bounded by it. */
export const MAX_NGRAM_ORDER = 32;

/** Where a number may lie; `integer` ones count something. */
export interface NumberRange {
  min: number;
  max: number;
  integer: boolean;
}

/** The ranges package.json declares for the training settings a user tunes (test/unit/host/training.test.ts checks they agree). */
export const TRAINING_SETTING_RANGES = {
  alpha: { min: 0, max: 100, integer: false },
  beta: { min: 0, max: 100, integer: false },
  innerLr: { min: 0.0001, max: 10, integer: false },
  innerSteps: { min: 1, max: 100, integer: true },
  outerSteps: { min: 1, max: 100_000, integer: true },
  pretrainEpochs: { min: 0, max: 1000, integer: true },
  vocabSize: { min: 2, max: 100_001, integer: true },
  hiddenSize: { min: 1, max: 2048, integer: true },
  embeddingSize: { min: 1, max: 2048, integer: true },
} as const satisfies Record<string, NumberRange>;

export type RangedTrainingSetting = keyof typeof TRAINING_SETTING_RANGES;

/**
 * Fields a trained model carries that no setting exposes. Each bound is wide
 * of what training writes (in brackets) and tight enough that a forged value
 * cannot make loading or adapting allocate or loop without end.
 */
export const MODEL_FIELD_RANGES = {
  /** LSTM layers (training: 1); each adds three tensors. */
  layers: { min: 1, max: 8, integer: true },
  /** Dynamic-evaluation step size (chosen among 3e-4, 1e-3, 3e-3); DynamicEvaluator needs it > 0. */
  dynamicLr: { min: 1e-7, max: 1, integer: false },
  /** Decay toward θ₀ after each dynamic step, as DynamicEvaluator accepts it (0.02). */
  dynamicDecay: { min: 0, max: 1, integer: false },
  /** Tokens per dynamic-evaluation segment (32). */
  dynamicSegment: { min: 1, max: 4096, integer: true },
  /** Share of a file used as its support set (0.5). */
  supportFraction: { min: 0, max: 1, integer: false },
  /** Seeds are read as unsigned 32-bit integers (SeededRandom). */
  seed: { min: 0, max: 0xffff_ffff, integer: true },
  /** Width of the Meta-Network's task embedding (16). */
  taskSize: { min: 1, max: 1024, integer: true },
  /** The n-gram order a gate was fitted with (6), as CountTrie counts it. */
  ngramOrder: { min: 1, max: MAX_NGRAM_ORDER, integer: true },
  /** Rate of the Meta-Network's adapter steps (chosen among 0.01 to 0.3), kept in provenance; as the inner rate. */
  adapterLr: TRAINING_SETTING_RANGES.innerLr,
} as const satisfies Record<string, NumberRange>;

/** Whether `value` is a number of `range`'s kind inside it. */
export function isInRange(value: unknown, range: NumberRange): value is number {
  return typeof value === 'number' && (range.integer ? Number.isInteger(value) : Number.isFinite(value)) && value >= range.min && value <= range.max;
}

/** A hand-edited or user-chosen value moved into `range` (rounded when it counts something); NaN and wrong types give `fallback`. */
export function clampToRange(value: unknown, range: NumberRange, fallback: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  const clamped = Math.min(range.max, Math.max(range.min, value));
  return range.integer ? Math.round(clamped) : clamped;
}

/**
 * Training overrides (from settings or the panel, whose own bounds are
 * looser) moved into the ranges a saved model is checked against, so that a
 * run never ends with a model the checkpoint validator refuses.
 */
export function clampTrainingOverrides<T extends Partial<Record<string, number>>>(overrides: T): T {
  const ranges: Partial<Record<string, NumberRange>> = { ...TRAINING_SETTING_RANGES, seed: MODEL_FIELD_RANGES.seed };
  const clamped: Partial<Record<string, number>> = { ...overrides };
  for (const [key, value] of Object.entries(overrides)) {
    const range = ranges[key];
    if (range !== undefined && value !== undefined) clamped[key] = clampToRange(value, range, range.min);
  }
  return clamped as T;
}

/** How a range reads in an error message: "an integer from 1 to 8", "a number from 0 to 1". */
export function describeRange(range: NumberRange): string {
  return `${range.integer ? 'an integer' : 'a number'} from ${range.min} to ${range.max}`;
}
