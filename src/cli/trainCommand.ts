import { saveModelCheckpoint } from '../core/persist/modelCheckpoint';
import { DEFAULT_FEWSHOT_OPTIONS } from '../core/experiment/fewshot';
import { disposeTrainedModel } from '../core/experiment/model';
import { trainModel } from '../core/experiment/pipeline';
import { loadCorpus } from '../core/text/corpus';
import { LEARNER_NAMES } from '../protocol/trainingEvents';
import { corpusOptions, reportSkipped, requireDirectory, requireWritableFile } from './corpusArgs';
import { formatFewShotRows, settingsFrom, startBackend, trainingFlags } from './fewshotCommand';
import { oneOf, parseCommandLine, UsageError } from './usage';

/** The learner `train` uses unless told otherwise (see the few-shot table in the README). */
export const DEFAULT_LEARNER = 'meta-sgd';

/**
 * `metacomplete train <dir> --out F`: meta-trains one learner on <dir>'s
 * TRAIN files (every file with `--all`), fits the gate on held-out files and
 * writes a checkpoint that `eval --model mixture --checkpoint F` and the
 * extension's "Import Model…" read.
 */
export async function runTrainCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    ...trainingFlags,
    out: { type: 'string' },
    learner: { type: 'string' },
    all: { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('train takes exactly one folder');
  if (values.out === undefined) throw new UsageError('train needs --out <file> for the checkpoint');
  const root = requireDirectory(positionals[0]);
  const out = requireWritableFile('out', values.out);
  const learner = oneOf('learner', values.learner, LEARNER_NAMES, DEFAULT_LEARNER);
  const settings = settingsFrom(values);
  const backend = await startBackend(values.backend);
  const corpus = loadCorpus(root, corpusOptions(values.ext));
  reportSkipped(corpus.skipped);
  const files = values.all ? corpus.files : corpus.files.filter((file) => file.split === 'train');
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const result = await trainModel(files, { ...DEFAULT_FEWSHOT_OPTIONS, settings, learner, log }, (event) => {
    if (event.type === 'pretrain-epoch') log(`pre-training epoch ${event.epoch}/${event.epochs}: loss ${event.loss.toFixed(3)} nats/token`);
    if (event.type === 'outer-step' && (event.step % 10 === 0 || event.step === event.totalSteps)) {
      log(`${event.learner} outer step ${event.step}/${event.totalSteps}: meta-loss ${event.metaLoss.toFixed(3)}`);
    }
    if (event.type === 'task-losses') log(`query losses of ${event.losses.length} tasks at k=${event.k}`);
    if (event.type === 'fewshot-table') log(`few-shot table on held-out files (class level), query entropy (bits/token) / MRR:\n${formatFewShotRows(event.rows)}`);
  });
  if (result.model === undefined) throw new Error('Training was cancelled; no checkpoint was written.');
  const model = result.model;
  try {
    model.provenance = { ...model.provenance, backend };
    await saveModelCheckpoint(out, model);
    process.stdout.write(
      `${learner} model written to ${out}: ${model.classTokens.length} classes, ${model.provenance.files} files, ` +
        `${result.metaLosses.length} outer steps, ${model.provenance.wallSeconds} s\n`,
    );
  } finally {
    disposeTrainedModel(model);
  }
  return 0;
}
