import { join } from 'node:path';
import { initBackend } from '../core/backend/backend';
import { DEFAULT_FEWSHOT_OPTIONS, runFewShot } from '../core/experiment/fewshot';
import type { FewShotOptions, FewShotResult } from '../core/experiment/fewshot';
import { DEFAULT_TRAIN_SETTINGS } from '../core/experiment/train';
import type { TrainSettings } from '../core/experiment/train';
import { loadCorpus } from '../core/text/corpus';
import { LEARNER_NAMES } from '../protocol/trainingEvents';
import type { FewShotRow, LearnerName } from '../protocol/trainingEvents';
import { corpusOptions, reportSkipped, requireDirectory } from './corpusArgs';
import { formatTable } from './table';
import { MODEL_FIELD_RANGES, TRAINING_SETTING_RANGES } from '../core/experiment/settingRanges';
import { integerOption, oneOf, parseCommandLine, UsageError } from './usage';

/** Flags shared by `fewshot` and `train`: the model and training sizes. */
export const trainingFlags = {
  ext: { type: 'string' },
  backend: { type: 'string' },
  vocab: { type: 'string' },
  epochs: { type: 'string' },
  'outer-steps': { type: 'string' },
  'inner-steps': { type: 'string' },
  hidden: { type: 'string' },
  seed: { type: 'string' },
  quick: { type: 'boolean' },
  support: { type: 'string' },
} as const;

/** A few seconds of training: for tests and smoke runs, not for figures. */
export const QUICK_SETTINGS: Partial<TrainSettings> = {
  vocabSize: 301,
  embeddingSize: 16,
  hiddenSize: 32,
  pretrainEpochs: 1,
  outerSteps: 3,
  maxSupportTokens: 64,
  maxQueryTokens: 64,
};

type TrainingFlagValues = { [K in keyof typeof trainingFlags]?: (typeof trainingFlags)[K]['type'] extends 'boolean' ? boolean : string };

export function settingsFrom(values: TrainingFlagValues): TrainSettings {
  const ranges = TRAINING_SETTING_RANGES;
  const base: TrainSettings = { ...DEFAULT_TRAIN_SETTINGS, ...(values.quick ? QUICK_SETTINGS : {}) };
  return {
    ...base,
    // --vocab counts the learned tokens; the class count adds <unk>.
    vocabSize: integerOption('vocab', values.vocab, { ...ranges.vocabSize, min: ranges.vocabSize.min - 1, max: ranges.vocabSize.max - 1 }, base.vocabSize - 1) + 1,
    pretrainEpochs: integerOption('epochs', values.epochs, ranges.pretrainEpochs, base.pretrainEpochs),
    outerSteps: integerOption('outer-steps', values['outer-steps'], ranges.outerSteps, base.outerSteps),
    innerSteps: integerOption('inner-steps', values['inner-steps'], ranges.innerSteps, base.innerSteps),
    hiddenSize: integerOption('hidden', values.hidden, ranges.hiddenSize, base.hiddenSize),
    seed: integerOption('seed', values.seed, MODEL_FIELD_RANGES.seed, base.seed),
    support: oneOf('support', values.support, ['prefix', 'neighbours'] as const, base.support),
  };
}

/** Picks the tfjs backend (tensorflow → wasm → cpu unless forced) and says which on stderr. */
export async function startBackend(forced: string | undefined): Promise<string> {
  const force = forced === undefined ? undefined : oneOf('backend', forced, ['tensorflow', 'wasm', 'cpu'] as const, 'wasm');
  // The bundled CLI finds the wasm binaries that the build copies to dist/wasm.
  // initBackend reports its choice (and any fallback warning) through `log`.
  const choice = await initBackend({ force, wasmDir: join(__dirname, 'wasm'), log: (message) => process.stderr.write(`${message}\n`) });
  return choice.name;
}

/** `metacomplete fewshot <dir>`: the learners × k table of query entropy and MRR on the TEST files. */
export async function runFewShotCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    ...trainingFlags,
    json: { type: 'boolean' },
    learners: { type: 'string' },
    ks: { type: 'string' },
  });
  if (positionals.length !== 1) throw new UsageError('fewshot takes exactly one folder');
  const root = requireDirectory(positionals[0]);
  const settings = settingsFrom(values);
  const learners = parseLearners(values.learners);
  const backend = await startBackend(values.backend);
  const corpus = loadCorpus(root, corpusOptions(values.ext));
  reportSkipped(corpus.skipped);
  const options: FewShotOptions = {
    ...DEFAULT_FEWSHOT_OPTIONS,
    settings,
    learners,
    ks: parseKs(values.ks),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const result = await runFewShot(corpus.files, options);
  process.stdout.write(values.json ? `${JSON.stringify({ ...result, backend })}\n` : formatFewShot(result));
  return 0;
}

/** Inner-step counts to score, each as `--inner-steps` takes it, 0 (no adaptation) included. */
function parseKs(text: string | undefined): number[] {
  if (text === undefined) return [...DEFAULT_FEWSHOT_OPTIONS.ks];
  const range = { ...TRAINING_SETTING_RANGES.innerSteps, min: 0 };
  const ks = text.split(',').map((k) => integerOption('ks', k.trim(), range, 0));
  return [...new Set(ks)].sort((a, b) => a - b);
}

function parseLearners(text: string | undefined): LearnerName[] {
  if (text === undefined) return [...DEFAULT_FEWSHOT_OPTIONS.learners];
  const names = text.split(',').map((name) => name.trim());
  for (const name of names) oneOf('learners', name, LEARNER_NAMES, 'reptile');
  return names as LearnerName[];
}

export function formatFewShot(result: FewShotResult): string {
  const c = result.choices;
  return (
    `Support sets: ${result.support === 'neighbours' ? "each file's task-graph neighbours (TEST files: their nearest TRAIN files)" : "each file's first part"}\n` +
    `Query entropy (bits/token) / MRR on ${result.files.test} TEST files, ${result.files.queryTokens} query positions; ` +
    `${result.files.metaTrain} meta-training files, ${result.files.heldOut} held out; ${result.classes} classes\n` +
    formatFewShotRows(result.rows) +
    `\nChosen on held-out TRAIN files: inner lr ${c.innerLr}, adapter lr ${c.adapterLr}, dynamic evaluation from ${c.dynamicLearner} at lr ${c.dynamicLr}\n` +
    `Time: pre-training ${(result.timings.pretrainMs / 1000).toFixed(1)} s; ` +
    Object.entries(result.timings.trainMs)
      .map(([name, ms]) => `${name} ${((ms ?? 0) / 1000).toFixed(1)} s`)
      .join(', ') +
    `; choices ${(result.timings.choicesMs / 1000).toFixed(1)} s; scoring ${(result.timings.scoringMs / 1000).toFixed(1)} s\n` +
    `Support set (${result.supportComparison.learner}, query class loss in nats at k = ${result.supportComparison.ks.join(', ')}): ` +
    `file prefix ${result.supportComparison.prefix.map((l) => l.toFixed(3)).join(' ')}; graph neighbours ${result.supportComparison.neighbours.map((l) => l.toFixed(3)).join(' ')}\n`
  );
}

/** A few-shot table as learners × k columns of "entropy / MRR". */
export function formatFewShotRows(rows: readonly FewShotRow[]): string {
  const ks = [...new Set(rows.map((row) => row.k))].sort((a, b) => a - b);
  const learners = [...new Set(rows.map((row) => row.learner))];
  const table = learners.map((learner) => [
    learner,
    ...ks.map((k) => {
      const row = rows.find((r) => r.learner === learner && r.k === k);
      return row === undefined ? '' : `${row.entropy.toFixed(3)} / ${row.mrr.toFixed(3)}`;
    }),
  ]);
  return formatTable(['learner', ...ks.map((k) => `k=${k}`)], table);
}
