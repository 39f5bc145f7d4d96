import { rankOf, scorePositions } from '../eval/evaluate';
import type { EvaluationOptions } from '../eval/evaluate';
import { isIdentifier, MetricAccumulator } from '../eval/metrics';
import type { MetricSummary } from '../eval/metrics';
import { LogisticGate } from '../mix/gate';
import { inClassNgramMass, UnkHandOver } from '../mix/unkHandOver';
import type { ClassMap } from '../mix/unkHandOver';
import { END_OF_FILE } from '../ngram/ngramModel';
import type { TokenDistribution } from '../ngram/tokenModel';
import type { CorpusFile } from '../text/corpus';
import { DynamicRowStream } from './adapt';
import type { DynamicSettings } from './adapt';
import { classIndexOf, fileClassIds } from './classes';
import { classMapFor } from './fewshot';
import type { TrainedModel } from './model';

export interface MixtureEvaluation extends MetricSummary {
  model: 'mixture';
  setting: 'project';
  learner: string;
  files: number;
  identifiers: MetricSummary;
  /** Mean gate weight of the neural model over the scored positions. */
  meanGate: number;
  ms: number;
}

/**
 * Scores a trained model's mixture on every TEST position under PROTOCOL.md,
 * project setting, exactly as `eval` scores the n-gram models: the
 * graph-nested n-gram knows every other file and the file's prefix; the
 * neural side is the checkpoint's θ under dynamic evaluation along the file
 * (each segment scored before it is learned, so nothing leaks); the fitted
 * gate mixes the two per position. The first token of a file has no context
 * for the LSTM and is scored by the n-gram alone.
 */
export function evaluateMixture(
  files: readonly CorpusFile[],
  model: TrainedModel,
  ngram: Pick<EvaluationOptions, 'order' | 'smoothing'> = {},
): MixtureEvaluation {
  const started = performance.now();
  if (!model.gate) throw new Error('This model has no fitted gate (it was trained without held-out files); retrain it on more files.');
  const gate = new LogisticGate(model.gate);
  const classIndex = classIndexOf(model.classTokens);
  const vocab = model.classTokens.length;
  const test = files.filter((file) => file.split === 'test' && file.tokens.length > 0);
  const all = new MetricAccumulator();
  const identifiers = new MetricAccumulator();
  let gateSum = 0;
  const dynamic: DynamicSettings = {
    lr: model.hyper.dynamicLr,
    decay: model.hyper.dynamicDecay,
    segment: model.hyper.dynamicSegment,
    meanSquares: model.meanSquares,
  };
  let classes: ClassMap | undefined;
  let current: { path: string; rows: DynamicRowStream } | undefined;
  try {
    scorePositions(files, test, { model: 'graph-nested', setting: 'project', ...ngram }, (file, index, ngramDistribution, trueId, vocabulary) => {
      classes ??= classMapFor(model.classTokens, vocabulary);
      if (current?.path !== file.relPath) {
        current?.rows.dispose();
        current = { path: file.relPath, rows: new DynamicRowStream(model.params, fileClassIds(file.tokens, classIndex), 1, vocab, dynamic) };
      }
      let distribution: TokenDistribution = ngramDistribution;
      if (index >= 1) {
        const row = current.rows.row(index);
        const neural = new UnkHandOver(row, ngramDistribution, classes, vocabulary, inClassNgramMass(ngramDistribution, classes));
        const mixed = gate.mix(neural, ngramDistribution, neural.summary);
        gateSum += mixed.gate;
        distribution = mixed;
      }
      const probability = distribution.probability(trueId);
      const rank = rankOf(distribution, vocabulary, trueId);
      all.add(probability, rank);
      const token = index < file.tokens.length ? file.tokens[index] : END_OF_FILE;
      if (index < file.tokens.length && isIdentifier(token, file.relPath)) identifiers.add(probability, rank);
    });
  } finally {
    current?.rows.dispose();
  }
  const summary = all.summary();
  return {
    model: 'mixture',
    setting: 'project',
    learner: model.learner,
    files: test.length,
    ...summary,
    identifiers: identifiers.summary(),
    meanGate: summary.tokens === 0 ? 0 : gateSum / summary.tokens,
    ms: performance.now() - started,
  };
}
