import { evaluate } from '../core/eval/evaluate';
import type { EvaluationResult } from '../core/eval/evaluate';
import { loadCorpus } from '../core/text/corpus';
import { corpusOptions, reportSkipped, requireDirectory } from './corpusArgs';
import { formatTable } from './table';
import { oneOf, parseCommandLine, positiveInteger, UsageError } from './usage';

const models = ['ngram', 'cache', 'nested', 'graph-nested'] as const;
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
  });
  if (positionals.length !== 1) throw new UsageError('eval takes exactly one folder');
  const root = requireDirectory(positionals[0]);
  const corpus = loadCorpus(root, corpusOptions(values.ext));
  reportSkipped(corpus.skipped);
  if (!corpus.files.some((file) => file.split === 'test')) {
    throw new UsageError(`${positionals[0]} has no TEST files under the protocol's split; it needs more source files`);
  }
  const result = evaluate(corpus.files, {
    model: oneOf('model', values.model, models, 'graph-nested'),
    setting: oneOf('setting', values.setting, settings, 'project'),
    order: positiveInteger('order', values.order, 6),
    smoothing: values.smoothing === undefined ? undefined : oneOf('smoothing', values.smoothing, smoothings, 'mkn'),
  });
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatEvaluation(result));
  return 0;
}

function formatEvaluation(result: EvaluationResult): string {
  const rows = [
    ['all tokens', result.tokens, result.entropy, result.mrr, result.top1],
    ['identifiers', result.identifiers.tokens, result.identifiers.entropy, result.identifiers.mrr, result.identifiers.top1],
  ].map(([label, tokens, entropy, mrr, top1]) => [
    String(label),
    String(tokens),
    Number(entropy).toFixed(3),
    Number(mrr).toFixed(3),
    Number(top1).toFixed(3),
  ]);
  return (
    `model ${result.model}, setting ${result.setting}, ${result.files} test files\n` +
    formatTable(['scored', 'tokens', 'entropy (bits)', 'MRR', 'top-1'], rows)
  );
}
