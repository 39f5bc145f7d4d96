import { loadCorpus } from '../core/text/corpus';
import { writeTokenDump } from '../core/text/dump';
import { corpusOptions, reportSkipped, requireDirectory } from './corpusArgs';
import { parseCommandLine, UsageError } from './usage';

/** `metacomplete tokens <dir> --out <dir2>`: the protocol's token dump. */
export async function runTokensCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, { out: { type: 'string' }, ext: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('tokens takes exactly one folder');
  if (!values.out) throw new UsageError('tokens needs --out <dir>');
  const root = requireDirectory(positionals[0]);
  const corpus = loadCorpus(root, corpusOptions(values.ext));
  reportSkipped(corpus.skipped);
  const stats = writeTokenDump(corpus.files, values.out);
  process.stdout.write(
    `wrote ${stats.train.files} train files (${stats.train.tokens} tokens) and ` +
      `${stats.test.files} test files (${stats.test.tokens} tokens) to ${values.out}\n`,
  );
  return 0;
}
