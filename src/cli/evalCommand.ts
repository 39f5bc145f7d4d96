import { resolve } from 'node:path';
import { evaluate } from '../core/eval/evaluate';
import { evaluateMixture } from '../core/experiment/mixtureEval';
import { disposeTrainedModel } from '../core/experiment/model';
import { loadModelCheckpoint } from '../core/persist/modelCheckpoint';
import type { EvaluationResult } from '../core/eval/evaluate';
import { loadCorpus } from '../core/text/corpus';
import { corpusOptions, reportSkipped, requireDirectory } from './corpusArgs';
import { startBackend } from './fewshotCommand';
import { formatTable } from './table';
import { MODEL_FIELD_RANGES } from '../core/experiment/settingRanges';
import { integerOption, oneOf, parseCommandLine, UsageError } from './usage';

const models = ['ngram', 'cache', 'nested', 'graph-nested', 'mixture'] as const;
const settings = ['static', 'cache', 'project'] as const;
const smoothings = ['jm', 'mkn'] as const;

/** `metacomplete eval <dir>`: entropy, MRR and top-1 of a count-based model on the protocol's split. */
export async function runEvalCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    model: { type: 'string' },
    setting: { type: 'string' },
    order: { type: 'string' },
    smoothing: { type: 'string' },
    json: { type: 'boolean' },
    ext: { type: 'string' },
    checkpoint: { type: 'string' },
    backend: { type: 'string' },
    'slp-batch-mrr': { type: 'boolean' },
  });
  if (positionals.length !== 1) throw new UsageError('eval takes exactly one folder');
  const root = requireDirectory(positionals[0]);
  const model = oneOf('model', values.model, models, 'graph-nested');
  if (model === 'mixture' && values.checkpoint === undefined) throw new UsageError('--model mixture needs --checkpoint <file> (from metacomplete train)');
  if (model !== 'mixture' && values.checkpoint !== undefined) throw new UsageError('--checkpoint goes with --model mixture');
  if (model === 'mixture' && values.setting !== undefined && values.setting !== 'project') {
    throw new UsageError('--model mixture is scored in the project setting only');
  }
  const corpus = loadCorpus(root, corpusOptions(values.ext));
  reportSkipped(corpus.skipped);
  if (!corpus.files.some((file) => file.split === 'test')) {
    throw new UsageError(`${positionals[0]} has no TEST files under the protocol's split; it needs more source files`);
  }
  const order = integerOption('order', values.order, MODEL_FIELD_RANGES.ngramOrder, 6);
  const smoothing = values.smoothing === undefined ? undefined : oneOf('smoothing', values.smoothing, smoothings, 'mkn');
  const slpBatchMrr = values['slp-batch-mrr'] === true;
  if (model === 'mixture') {
    await startBackend(values.backend);
    const trained = await loadModelCheckpoint(resolve(values.checkpoint as string));
    try {
      const result = evaluateMixture(corpus.files, trained, { order, smoothing, slpBatchMrr });
      process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatEvaluation({ ...result, model: `mixture (${result.learner}; mean gate ${result.meanGate.toFixed(3)})` }));
    } finally {
      disposeTrainedModel(trained);
    }
    return 0;
  }
  const result = evaluate(corpus.files, {
    model,
    setting: oneOf('setting', values.setting, settings, 'project'),
    order,
    smoothing,
    slpBatchMrr,
  });
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatEvaluation(result));
  return 0;
}

type PrintedEvaluation = Pick<EvaluationResult, 'tokens' | 'entropy' | 'mrr' | 'top1' | 'identifiers' | 'setting' | 'files' | 'slpBatch'> & { model: string };

function formatEvaluation(result: PrintedEvaluation): string {
  const rows = [
    ['all tokens', result.tokens, result.entropy.toFixed(3), result.mrr, result.top1],
    ['identifiers', result.identifiers.tokens, result.identifiers.entropy.toFixed(3), result.identifiers.mrr, result.identifiers.top1],
    ...(result.slpBatch === undefined ? [] : [['all, SLP-Core batch ranking (leaky)', result.tokens, '—', result.slpBatch.mrr, result.slpBatch.top1]]),
  ].map(([label, tokens, entropy, mrr, top1]) => [String(label), String(tokens), String(entropy), Number(mrr).toFixed(3), Number(top1).toFixed(3)]);
  return (
    `model ${result.model}, setting ${result.setting}, ${result.files} test files\n` +
    formatTable(['scored', 'tokens', 'entropy (bits)', 'MRR', 'top-1'], rows)
  );
}
