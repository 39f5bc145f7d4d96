// The typed form of MetaComplete's settings and how raw values map onto it.
// No 'vscode' import: src/host/config.ts reads VS Code's configuration through it.
import { LEARNER_NAMES } from '../protocol/trainingEvents';
import type { LearnerName, SupportKind } from '../protocol/trainingEvents';
import { DEFAULT_INCLUDE_GLOBS } from './fileFilter';
import { TRAINING_SETTING_RANGES, clampToRange } from '../core/experiment/settingRanges';

/** The engine skips larger files itself (core/text/corpus.ts DEFAULT_MAX_FILE_BYTES), so the setting stops there. */
export const MAX_FILE_SIZE_KB = 1024;

export interface MetaCompleteSettings {
  completionsEnabled: boolean;
  inlineCompletionsEnabled: boolean;
  maxFileSizeKB: number;
  include: string[];
  exclude: string[];
  debounceMs: number;
}

export const DEFAULT_SETTINGS: MetaCompleteSettings = {
  completionsEnabled: true,
  inlineCompletionsEnabled: true,
  maxFileSizeKB: 1024,
  include: [...DEFAULT_INCLUDE_GLOBS],
  exclude: [],
  debounceMs: 50,
};

/** The setting keys under `metacomplete.`, each mapped to its field. */
export const SETTING_KEYS = {
  completionsEnabled: 'completions.enabled',
  inlineCompletionsEnabled: 'inlineCompletions.enabled',
  maxFileSizeKB: 'maxFileSizeKB',
  include: 'include',
  exclude: 'exclude',
  debounceMs: 'debounceMs',
} as const satisfies Record<keyof MetaCompleteSettings, string>;

function booleanOr(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function numberIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function globsOr(value: unknown, fallback: string[]): string[] {
  if (!Array.isArray(value)) return fallback;
  return value.filter((glob): glob is string => typeof glob === 'string' && glob.trim() !== '');
}

/** Maps raw values (as `get(key)` returns them, possibly wrong types from a hand-edited file) to typed settings. */
export function readSettings(get: (key: string) => unknown): MetaCompleteSettings {
  const include = globsOr(get(SETTING_KEYS.include), DEFAULT_SETTINGS.include);
  return {
    completionsEnabled: booleanOr(get(SETTING_KEYS.completionsEnabled), DEFAULT_SETTINGS.completionsEnabled),
    inlineCompletionsEnabled: booleanOr(get(SETTING_KEYS.inlineCompletionsEnabled), DEFAULT_SETTINGS.inlineCompletionsEnabled),
    maxFileSizeKB: numberIn(get(SETTING_KEYS.maxFileSizeKB), 1, MAX_FILE_SIZE_KB, DEFAULT_SETTINGS.maxFileSizeKB),
    include: include.length > 0 ? include : DEFAULT_SETTINGS.include,
    exclude: globsOr(get(SETTING_KEYS.exclude), DEFAULT_SETTINGS.exclude),
    debounceMs: numberIn(get(SETTING_KEYS.debounceMs), 0, 1000, DEFAULT_SETTINGS.debounceMs),
  };
}

/**
 * What "Start/Resume Meta-Training" runs with: the learner and the sizes and
 * rates a user tunes. Defaults equal the engine's own (DEFAULT_TRAIN_SETTINGS
 * in core/experiment/train.ts, which the host bundle must not import: it pulls
 * TensorFlow.js); test/unit/host/training.test.ts checks that they agree.
 */
export interface TrainingSettings {
  learner: LearnerName;
  /** Where each task's support set comes from: the file's first part, or its task-graph neighbours. */
  support: SupportKind;
  alpha: number;
  beta: number;
  innerLr: number;
  innerSteps: number;
  outerSteps: number;
  pretrainEpochs: number;
  vocabSize: number;
  hiddenSize: number;
  embeddingSize: number;
}

export const DEFAULT_TRAINING_SETTINGS: TrainingSettings = {
  learner: 'meta-sgd',
  support: 'prefix',
  alpha: 1,
  beta: 1,
  innerLr: 1,
  innerSteps: 5,
  outerSteps: 40,
  pretrainEpochs: 8,
  vocabSize: 2001,
  hiddenSize: 128,
  embeddingSize: 128,
};

type NumericTrainingSetting = Exclude<keyof TrainingSettings, 'learner' | 'support'>;

/** The setting keys under `metacomplete.` of each training field. */
export const TRAINING_SETTING_KEYS = {
  learner: 'training.learner',
  support: 'training.support',
  alpha: 'training.alpha',
  beta: 'training.beta',
  innerLr: 'training.innerLr',
  innerSteps: 'training.innerSteps',
  outerSteps: 'training.outerSteps',
  pretrainEpochs: 'training.pretrainEpochs',
  vocabSize: 'training.vocabSize',
  hiddenSize: 'training.hiddenSize',
  embeddingSize: 'training.embeddingSize',
} as const satisfies Record<keyof TrainingSettings, string>;

/** Clamps and, where the field counts something, rounds a hand-edited training value; NaN and wrong types fall back. */
export function trainingNumber(key: NumericTrainingSetting, value: unknown): number {
  return clampToRange(value, TRAINING_SETTING_RANGES[key], DEFAULT_TRAINING_SETTINGS[key]);
}

export function readTrainingSettings(get: (key: string) => unknown): TrainingSettings {
  const learner = get(TRAINING_SETTING_KEYS.learner);
  const settings: TrainingSettings = {
    ...DEFAULT_TRAINING_SETTINGS,
    learner: typeof learner === 'string' && (LEARNER_NAMES as readonly string[]).includes(learner) ? (learner as LearnerName) : DEFAULT_TRAINING_SETTINGS.learner,
    support: get(TRAINING_SETTING_KEYS.support) === 'neighbours' ? 'neighbours' : 'prefix',
  };
  for (const key of Object.keys(TRAINING_SETTING_RANGES) as NumericTrainingSetting[]) {
    settings[key] = trainingNumber(key, get(TRAINING_SETTING_KEYS[key]));
  }
  return settings;
}
