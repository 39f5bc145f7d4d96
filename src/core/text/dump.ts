import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CorpusFile } from './corpus';

export interface SplitCounts {
  files: number;
  tokens: number;
}

export interface TokenDumpStats {
  train: SplitCounts;
  test: SplitCounts;
}

/**
 * Writes the protocol's token dump: `<outDir>/<split>/<relPath>.tok`, one line
 * of TAB-separated tokens ending in a newline, byte for byte what the
 * reference writes, so SLP-Core and other tools can read the same tokens.
 * Also writes `<outDir>/stats.json` with the counts.
 */
export function writeTokenDump(files: readonly CorpusFile[], outDir: string): TokenDumpStats {
  const stats: TokenDumpStats = { train: { files: 0, tokens: 0 }, test: { files: 0, tokens: 0 } };
  const types = { train: new Set<string>(), test: new Set<string>() };
  const testCounts = new Map<string, number>();
  for (const file of files) {
    const target = join(outDir, file.split, ...file.relPath.split('/')) + '.tok';
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${file.tokens.join('\t')}\n`, 'utf8');
    stats[file.split].files++;
    stats[file.split].tokens += file.tokens.length;
    const seen = types[file.split];
    for (const token of file.tokens) seen.add(token);
    if (file.split === 'test') {
      for (const token of file.tokens) testCounts.set(token, (testCounts.get(token) ?? 0) + 1);
    }
  }
  let oovTokens = 0;
  for (const [token, count] of testCounts) if (!types.train.has(token)) oovTokens += count;
  const summary = {
    train: { ...stats.train, types: types.train.size },
    test: {
      ...stats.test,
      types: types.test.size,
      // Test tokens never seen in TRAIN: what the static setting has to escape to.
      oovTokensVsTrain: oovTokens,
      oovRateVsTrain: stats.test.tokens === 0 ? 0 : oovTokens / stats.test.tokens,
    },
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'stats.json'), `${JSON.stringify(summary, null, 2)}\n`, 'utf8');
  return stats;
}
