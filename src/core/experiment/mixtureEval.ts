import { rankAmong, rankOf, scorePositions } from '../eval/evaluate';
import type { EvaluationOptions, SlpBatchRanking } from '../eval/evaluate';
import { isIdentifier, MetricAccumulator, MRR_CUTOFF, RankAccumulator } from '../eval/metrics';
import type { MetricSummary, RankSummary } from '../eval/metrics';
import { GateMixture, LogisticGate } from '../mix/gate';
import { inClassNgramMass, UnkHandOver } from '../mix/unkHandOver';
import type { ClassMap } from '../mix/unkHandOver';
import { END_OF_FILE } from '../ngram/ngramModel';
import { predictFrom } from '../ngram/tokenModel';
import type { TokenDistribution } from '../ngram/tokenModel';
import type { Vocabulary } from '../text/vocabulary';
import type { CorpusFile } from '../text/corpus';
import { DynamicRowStream, FileRowStreams } from './adapt';
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
  /** With `slpBatchMrr` only: MRR and top-1 ranked as SLP-Core's batch mode would (leaky, see `slpBatchRank`). */
  slpBatch?: RankSummary;
  ms: number;
}

export interface MixtureEvaluationOptions extends Pick<EvaluationOptions, 'order' | 'smoothing'> {
  /**
   * Also ranks every position as SLP-Core's batch mode ranks its nested+cache
   * model (`EvaluationOptions.slpBatchMrr`), reported apart as `slpBatch`,
   * so that the mixture's MRR can stand beside SLP-Core's published one.
   */
  slpBatchMrr?: boolean;
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
  options: MixtureEvaluationOptions = {},
): MixtureEvaluation {
  const { slpBatchMrr, ...ngram } = options;
  const started = performance.now();
  if (!model.gate) throw new Error('This model has no fitted gate (it was trained without held-out files); retrain it on more files.');
  const gate = new LogisticGate(model.gate);
  const classIndex = classIndexOf(model.classTokens);
  const vocab = model.classTokens.length;
  const test = files.filter((file) => file.split === 'test' && file.tokens.length > 0);
  const all = new MetricAccumulator();
  const identifiers = new MetricAccumulator();
  const slpBatch = slpBatchMrr === true ? new RankAccumulator() : undefined;
  let gateSum = 0;
  const dynamic: DynamicSettings = {
    lr: model.hyper.dynamicLr,
    decay: model.hyper.dynamicDecay,
    segment: model.hyper.dynamicSegment,
    meanSquares: model.meanSquares,
  };
  let classes: ClassMap | undefined;
  const streams = new FileRowStreams();
  try {
    const scoring = { model: 'graph-nested', setting: 'project', ...ngram, slpBatchMrr } as const;
    scorePositions(files, test, scoring, (file, index, ngramDistribution, trueId, vocabulary, leakyNgram) => {
      classes ??= classMapFor(model.classTokens, vocabulary);
      let distribution: TokenDistribution = ngramDistribution;
      if (index >= 1) {
        const rows = streams.of(file.relPath, () => new DynamicRowStream(model.params, fileClassIds(file.tokens, classIndex), 1, vocab, dynamic));
        const row = rows.row(index);
        const neural = new UnkHandOver(row, ngramDistribution, classes, vocabulary, inClassNgramMass(ngramDistribution, classes));
        const mixed = gate.mix(neural, ngramDistribution, neural.summary);
        gateSum += mixed.gate;
        distribution = mixed;
      }
      const probability = distribution.probability(trueId);
      const rank = rankOf(distribution, vocabulary, trueId);
      all.add(probability, rank);
      slpBatch?.add(slpBatchRank(distribution, leakyNgram, trueId, vocabulary, rank));
      const token = index < file.tokens.length ? file.tokens[index] : END_OF_FILE;
      if (index < file.tokens.length && isIdentifier(token, file.relPath)) identifiers.add(probability, rank);
    });
  } finally {
    streams.dispose();
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
    ...(slpBatch === undefined ? {} : { slpBatch: slpBatch.summary() }),
    ms: performance.now() - started,
  };
}

/**
 * The mixture's rank of the true token as SLP-Core's batch mode would give
 * it, were the mixture one more MixModel over its nested+cache model: the
 * candidates are the neural side's own top-10 and the n-gram's batch-mode
 * candidates; each is scored g·p_neural + (1 − g)·p_ngram with the n-gram's
 * batch-mode probability (leaky where SLP-Core's is) and the gate and neural
 * side unchanged (leak-free). Where the n-gram alone scores (a file's first
 * token), its own batch-mode rank.
 */
function slpBatchRank(
  distribution: TokenDistribution,
  leakyNgram: SlpBatchRanking | undefined,
  trueId: number,
  vocabulary: Vocabulary,
  leakFreeRank: number,
): number {
  if (leakyNgram === undefined) return leakFreeRank;
  if (!(distribution instanceof GateMixture)) return leakyNgram.rank(trueId);
  const { neural, gate } = distribution;
  const candidates = new Set(leakyNgram.candidates);
  for (const prediction of predictFrom(neural, vocabulary, '', MRR_CUTOFF)) candidates.add(prediction.id);
  return rankAmong(candidates, (id) => gate * neural.probability(id) + (1 - gate) * leakyNgram.probability(id), trueId);
}
