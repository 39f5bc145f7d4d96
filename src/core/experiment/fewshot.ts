import { rankOf, scorePositions, scorePositionsBetweenFiles } from '../eval/evaluate';
import type { EvaluationOptions } from '../eval/evaluate';
import { MetricAccumulator } from '../eval/metrics';
import type { MetricSummary } from '../eval/metrics';
import { fitGate, gateSample, LogisticGate } from '../mix/gate';
import type { GateParameters, GateSample } from '../mix/gate';
import { classMapOf, inClassNgramMass, UnkHandOver } from '../mix/unkHandOver';
import type { ClassMap } from '../mix/unkHandOver';
import { makeBatches, UNK_CLASS } from '../neural/batches';
import type { ParamMap } from '../neural/lstm';
import { adaptWithCurve } from '../meta/innerLoop';
import { disposeMap } from '../meta/paramMaps';
import { makeTask } from '../meta/tasks';
import { shuffledIndices } from '../meta/transfer';
import { SeededRandom } from '../neural/random';
import type { MetaTask } from '../meta/tasks';
import { TaskGraph } from '../graph/taskGraph';
import type { TokenDistribution } from '../ngram/tokenModel';
import { compareCodePoints } from '../text/corpus';
import type { CorpusFile } from '../text/corpus';
import type { Vocabulary } from '../text/vocabulary';
import type { FewShotRow, LearnerName, SupportKind, TrainingSink } from './events';
import { adaptToSupport, classRows, dynamicRows, DynamicRowStream, FileRowStreams, innerRateOf, withDynamicStart } from './adapt';
import type { AdaptationSettings, DynamicSettings } from './adapt';
import { fileClassIds, supportLength } from './classes';
import { disposeTrainedModel } from './model';
import type { TrainedModel } from './model';
import {
  between,
  meanSquaresFor,
  metaNetworkLossByRate,
  prepareTasks,
  pretrainModel,
  queryLossByRate,
  SUPPORT_NEIGHBOURS,
  taskShape,
  trainLearner,
  useNeighbourSupports,
} from './train';
import type { PreparedTasks, TrainControl, TrainSettings } from './train';

/**
 * The few-shot experiment of the engine issue: every TRAIN file is a task;
 * each learner meta-trains on them, then adapts to each TEST file from its
 * first part (support) and is scored on the rest (query), after k inner
 * steps. Every choice made from data (inner rate, adapter rate, dynamic
 * evaluation rate, which learner feeds dynamic evaluation, the gate) is made
 * on held-out TRAIN files, never on TEST ones.
 *
 * Scoring follows PROTOCOL.md on the query positions (the query tokens plus
 * the end-of-file symbol): the neural models' `<unk>` mass goes to the
 * graph-nested n-gram's out-of-class tokens (UnkHandOver), so every token has
 * a normalised probability, and MRR ranks the same distribution's top 10.
 * The n-gram rows score the same positions: `ngram-static` knows TRAIN only;
 * `ngram-graph-nested` is the project setting (every other file, the file's
 * prefix through its cache). Neither takes inner steps: their k columns
 * repeat one figure. `lstm` is the pre-trained model without adaptation.
 */

export const FEWSHOT_LEARNERS = [
  'ngram-static',
  'ngram-graph-nested',
  'lstm',
  'transfer',
  'reptile',
  'fomaml',
  'meta-sgd',
  'meta-network',
  'dynamic-eval',
  'mixture',
] as const;

export interface FewShotOptions {
  settings: TrainSettings;
  /** Inner steps to report. */
  ks: readonly number[];
  /** Meta-learners to train (transfer always runs: it is the baseline and everyone's init). */
  learners: readonly LearnerName[];
  /** Every `heldOutEvery`-th TRAIN file (sorted by path) is held out for the choices above. */
  heldOutEvery: number;
  /** Candidate inner rates (transfer fine-tuning, and every learner's inner rate). */
  innerRates: readonly number[];
  adapterRates: readonly number[];
  dynamicRates: readonly number[];
  /** k at which held-out choices are made. */
  selectionK: number;
  /**
   * The n-gram the gate is fitted against. Its `mixing` should be the one the
   * mixture will run with: the protocol's evaluations fit it on TRAIN
   * (default), the extension's engine uses confidence mixing.
   */
  ngram?: Pick<EvaluationOptions, 'order' | 'smoothing' | 'mixing'>;
  log?: (line: string) => void;
}

export const DEFAULT_FEWSHOT_OPTIONS: Omit<FewShotOptions, 'settings'> = {
  ks: [0, 1, 5, 20],
  learners: ['reptile', 'fomaml', 'meta-sgd', 'meta-network'],
  heldOutEvery: 8,
  innerRates: [0.3, 1, 2],
  // FiLM adapter steps diverge at 1 on rxjs held-out tasks and 0.3 already hurts at k = 5; 0.01–0.03 is where they help.
  adapterRates: [0.01, 0.03, 0.1, 0.3],
  dynamicRates: [3e-4, 1e-3, 3e-3],
  selectionK: 5,
};

export interface FewShotResult {
  rows: (FewShotRow & { top1: number; tokens: number })[];
  /** Where the learners' support sets came from, in meta-training and on the TEST files. */
  support: SupportKind;
  /** What was chosen on held-out TRAIN files, and the held-out query losses (nats) behind each choice. */
  choices: {
    innerLr: number;
    adapterLr: number;
    dynamicLr: number;
    /** The θ-adapting learner whose adapted model feeds dynamic evaluation and the mixture. */
    dynamicLearner: LearnerName;
    heldOutLossAtSelectionK: Partial<Record<LearnerName, number>>;
  };
  gate: GateParameters;
  metaLosses: Partial<Record<LearnerName, number[]>>;
  timings: { pretrainMs: number; trainMs: Partial<Record<LearnerName, number>>; choicesMs: number; scoringMs: number };
  files: { metaTrain: number; heldOut: number; test: number; queryTokens: number };
  classes: number;
  cancelled: boolean;
  /**
   * The environment level: the same query (each TEST file's second part)
   * after k steps of `learner` from a support of the file's own first part,
   * or of its task-graph neighbours' tokens (same token budget), class loss
   * in nats per token.
   */
  supportComparison: { learner: LearnerName; ks: number[]; prefix: number[]; neighbours: number[] };
}

/** Runs the whole experiment on a corpus split by the protocol. Frees every tensor it made. */
export async function runFewShot(
  files: readonly CorpusFile[],
  options: FewShotOptions,
  sink?: TrainingSink,
  control?: TrainControl,
): Promise<FewShotResult> {
  const log = options.log ?? (() => undefined);
  const settings = { ...options.settings };
  const nonEmpty = files.filter((file) => file.tokens.length > 0).sort((a, b) => (a.relPath < b.relPath ? -1 : 1));
  const train = nonEmpty.filter((file) => file.split === 'train');
  const test = nonEmpty.filter((file) => file.split === 'test');
  const heldOut = train.filter((_, i) => i % options.heldOutEvery === options.heldOutEvery - 1);
  const metaTrain = train.filter((_, i) => i % options.heldOutEvery !== options.heldOutEvery - 1);
  if (test.length === 0 || heldOut.length === 0 || metaTrain.length === 0) {
    throw new Error(
      `The few-shot experiment needs TRAIN files to meta-train on, held-out TRAIN files and TEST files; got ${metaTrain.length}, ${heldOut.length} and ${test.length}.`,
    );
  }
  const asTraining = (list: readonly CorpusFile[]) => list.map((file) => ({ path: file.relPath, tokens: file.tokens }));
  const prepared = prepareTasks(asTraining(metaTrain), settings);
  const held = prepareTasks(asTraining(heldOut), settings, prepared.classTokens);
  // Neighbours among TRAIN files only: a TEST file's tokens are never in a support set.
  const trainGraph = TaskGraph.build(asTraining(train));
  if (settings.support === 'neighbours') useNeighbourSupports(trainGraph, prepared, held, settings, log);
  const vocab = prepared.classTokens.length;
  log(`${metaTrain.length} meta-training files (${prepared.tasks.length} tasks), ${heldOut.length} held out, ${test.length} test; ${vocab} classes`);

  const models = new Map<LearnerName, TrainedModel>();
  const metaLosses: FewShotResult['metaLosses'] = {};
  const trainMs: FewShotResult['timings']['trainMs'] = {};
  let meanSquares: ParamMap | undefined;
  let cancelled = false;
  let rateMs = 0;
  try {
    let started = performance.now();
    const pretrained = await pretrainModel(prepared, settings, sink, control);
    const pretrainMs = performance.now() - started;
    log(`pre-trained in ${(pretrainMs / 1000).toFixed(1)} s`);
    try {
      started = performance.now();
      const innerLosses = queryLossByRate(pretrained, held.tasks, options.selectionK, options.innerRates, settings.innerClip);
      settings.innerLr = options.innerRates[argMin(innerLosses)];
      log(`inner rate ${settings.innerLr} (held-out query loss at k=${options.selectionK}: ${innerLosses.map((l) => l.toFixed(3)).join(', ')})`);
      rateMs = performance.now() - started;
      for (const name of ['transfer', ...options.learners.filter((l) => l !== 'transfer')] as LearnerName[]) {
        if (control?.signal?.aborted) break;
        started = performance.now();
        const trained = await trainLearner(name, pretrained, prepared, settings, sink, control);
        trainMs[name] = performance.now() - started;
        models.set(name, trained.model);
        metaLosses[name] = trained.metaLosses;
        cancelled ||= trained.cancelled;
        if (name !== 'transfer') {
          // Each step samples its own tasks, so one step's meta-loss is noisy: compare means over a quarter of the run.
          const losses = trained.metaLosses;
          const span = Math.max(1, Math.floor(losses.length / 4));
          const mean = (values: readonly number[]): string => (values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1)).toFixed(3);
          log(
            `${name}: ${losses.length} outer steps in ${((trainMs[name] ?? 0) / 1000).toFixed(1)} s, ` +
              `mean meta-loss of the first ${span} steps ${mean(losses.slice(0, span))} → of the last ${span} ${mean(losses.slice(-span))}`,
          );
        }
      }
      meanSquares = meanSquaresFor(pretrained, prepared);
    } finally {
      disposeMap(pretrained);
    }
    if (cancelled || control?.signal?.aborted) throw new Error('Training was cancelled before the few-shot table could be scored.');

    started = performance.now();
    const choices = makeChoices(models, held, settings, options, meanSquares, log);
    const adaptation: AdaptationSettings = {
      innerLr: settings.innerLr,
      adapterLr: choices.adapterLr,
      innerClip: settings.innerClip,
      shape: taskShape(settings),
    };
    const dynamic: DynamicSettings = { lr: choices.dynamicLr, decay: settings.dynamicDecay, segment: settings.dynamicSegment, meanSquares };
    const dynamicModel = models.get(choices.dynamicLearner) as TrainedModel;
    const gate = await fitGateOnHeldOut(train, heldOut, prepared, dynamicModel, adaptation, dynamic, options, control);
    if (gate === undefined) throw new Error('Training was cancelled before the few-shot table could be scored.');
    const choicesMs = rateMs + performance.now() - started;
    log(`gate fitted on held-out TRAIN files; choices took ${(choicesMs / 1000).toFixed(1)} s`);

    started = performance.now();
    const neighbourSupports = settings.support === 'neighbours' ? testNeighbourSupports(trainGraph, train, test, prepared, settings) : undefined;
    const scored = scoreTestFiles(nonEmpty, train, test, prepared, models, dynamicModel, gate, adaptation, dynamic, options, neighbourSupports);
    const scoringMs = performance.now() - started;
    log(`scored ${test.length} TEST files in ${(scoringMs / 1000).toFixed(1)} s`);
    sink?.({ type: 'fewshot-table', rows: scored.rows.map(({ learner, k, entropy, mrr }) => ({ learner, k, entropy, mrr })) });
    const supportComparison = compareSupports(trainGraph, train, test, prepared, dynamicModel, settings, options.ks);
    log(`support from the file's prefix vs its graph neighbours (${dynamicModel.learner}, nats): ${supportComparison.prefix.map((l) => l.toFixed(3)).join(' ')} vs ${supportComparison.neighbours.map((l) => l.toFixed(3)).join(' ')}`);
    return {
      rows: scored.rows,
      support: settings.support,
      choices: { ...choices, innerLr: settings.innerLr },
      gate,
      metaLosses,
      timings: { pretrainMs, trainMs, choicesMs, scoringMs },
      files: { metaTrain: metaTrain.length, heldOut: heldOut.length, test: test.length, queryTokens: scored.queryTokens },
      classes: vocab,
      cancelled,
      supportComparison,
    };
  } finally {
    for (const model of models.values()) disposeTrainedModel(model);
    disposeMap(meanSquares);
  }
}

export function argMin(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[best]) best = i;
  return best;
}

/**
 * Each TEST file's support set with neighbour supports: the tokens of its
 * nearest TRAIN files, found from the file's first part alone (the query
 * chooses nothing), `maxSupportTokens` shared out among them as in training.
 */
function testNeighbourSupports(
  trainGraph: TaskGraph,
  train: readonly CorpusFile[],
  test: readonly CorpusFile[],
  prepared: PreparedTasks,
  settings: TrainSettings,
): Map<string, Int32Array[]> {
  const supports = new Map<string, Int32Array[]>();
  const nearestTo = trainNeighbours(trainGraph, train);
  for (const file of test) {
    const near = nearestTo(file, supportLength(file.tokens.length + 1, settings.supportFraction, settings.maxSupportTokens));
    if (near.length === 0) continue;
    const budget = Math.max(2, Math.floor(settings.maxSupportTokens / near.length));
    supports.set(
      file.relPath,
      near.map((neighbour) => (prepared.ids.get(neighbour.relPath) ?? fileClassIds(neighbour.tokens, prepared.classIndex)).subarray(0, budget)),
    );
  }
  return supports;
}

/** A TEST file's nearest TRAIN files, found from its first `prefix` tokens alone (the query chooses nothing). */
function trainNeighbours(trainGraph: TaskGraph, train: readonly CorpusFile[]): (file: CorpusFile, prefix: number) => CorpusFile[] {
  const byPath = new Map(train.map((file) => [file.relPath, file]));
  return (file, prefix) =>
    trainGraph
      .neighboursOfTokens(file.tokens.slice(0, prefix), SUPPORT_NEIGHBOURS)
      .map((neighbour) => byPath.get(neighbour.path))
      .filter((neighbour): neighbour is CorpusFile => neighbour !== undefined);
}

function compareSupports(
  trainGraph: TaskGraph,
  train: readonly CorpusFile[],
  test: readonly CorpusFile[],
  prepared: PreparedTasks,
  model: TrainedModel,
  settings: TrainSettings,
  ks: readonly number[],
): FewShotResult['supportComparison'] {
  const sorted = [...ks].sort((a, b) => a - b);
  const maxK = sorted[sorted.length - 1] ?? 0;
  const idsOf = (file: CorpusFile): Int32Array => prepared.ids.get(file.relPath) ?? fileClassIds(file.tokens, prepared.classIndex);
  const nearestTo = trainNeighbours(trainGraph, train);
  const prefix = new Array<number>(sorted.length).fill(0);
  const neighbours = new Array<number>(sorted.length).fill(0);
  let count = 0;
  const rate = innerRateOf(model, settings.innerLr);
  for (const file of test) {
    const ids = idsOf(file);
    const support = supportLength(ids.length, settings.supportFraction, settings.maxSupportTokens);
    const own = makeTask(file.relPath, ids.subarray(0, Math.min(ids.length, support + settings.maxQueryTokens)), {
      ...taskShape(settings),
      support: { kind: 'prefixTokens', tokens: support },
    });
    const near = nearestTo(file, support);
    if (own.query.length === 0 || near.length === 0) continue;
    const budget = Math.max(2, Math.floor(support / near.length));
    const fromNeighbours = near.map((neighbour) => makeBatches(idsOf(neighbour).subarray(0, budget), taskShape(settings))).filter((stream) => stream.length > 0);
    for (const [target, supportSet] of [[prefix, own.support], [neighbours, fromNeighbours]] as const) {
      const curve = adaptWithCurve(model.params, supportSet, own.query, { steps: maxK, ...rate, clipNorm: settings.innerClip });
      disposeMap(curve.params);
      sorted.forEach((k, i) => (target[i] += curve.queryLosses[k]));
    }
    count++;
  }
  const mean = (values: number[]) => values.map((value) => (count === 0 ? NaN : value / count));
  return { learner: model.learner, ks: sorted, prefix: mean(prefix), neighbours: mean(neighbours) };
}

/** Held-out query loss of each learner at the selection k, and the rates of the adapter and of dynamic evaluation. */
function makeChoices(
  models: ReadonlyMap<LearnerName, TrainedModel>,
  held: PreparedTasks,
  settings: TrainSettings,
  options: FewShotOptions,
  meanSquares: ParamMap,
  log: (line: string) => void,
): Omit<FewShotResult['choices'], 'innerLr'> {
  const k = options.selectionK;
  const losses: Partial<Record<LearnerName, number>> = {};
  let adapterLr = options.adapterRates[0];
  for (const [name, model] of models) {
    if (name === 'meta-network') {
      const byRate = metaNetworkLossByRate(model, held.tasks, k, options.adapterRates);
      adapterLr = options.adapterRates[argMin(byRate)];
      losses[name] = Math.min(...byRate);
      continue;
    }
    losses[name] = heldOutLoss(model, held.tasks, k, settings);
  }
  log(`held-out query loss at k=${k}: ${Object.entries(losses).map(([name, loss]) => `${name} ${loss?.toFixed(3)}`).join(', ')}`);
  const candidates = [...models.keys()].filter((name) => name !== 'meta-network');
  const dynamicLearner = candidates.reduce((best, name) => ((losses[name] ?? Infinity) < (losses[best] ?? Infinity) ? name : best));
  const dynamicModel = models.get(dynamicLearner) as TrainedModel;
  const adaptation: AdaptationSettings = { innerLr: settings.innerLr, adapterLr, innerClip: settings.innerClip, shape: taskShape(settings) };
  const dynamicLosses = options.dynamicRates.map((lr) =>
    dynamicClassLoss(dynamicModel, held, adaptation, { lr, decay: settings.dynamicDecay, segment: settings.dynamicSegment, meanSquares }, settings, k),
  );
  const dynamicLr = options.dynamicRates[argMin(dynamicLosses)];
  log(`dynamic evaluation from ${dynamicLearner}: rate ${dynamicLr} (held-out class loss ${dynamicLosses.map((l) => l.toFixed(3)).join(', ')})`);
  return { adapterLr, dynamicLr, dynamicLearner, heldOutLossAtSelectionK: losses };
}

/** Mean query loss (nats) over held-out tasks after k steps of a θ-adapting learner. */
export function heldOutLoss(model: TrainedModel, tasks: readonly MetaTask[], k: number, settings: TrainSettings): number {
  let total = 0;
  for (const task of tasks) {
    const rate = innerRateOf(model, settings.innerLr);
    const curve = adaptWithCurve(model.params, task.support, task.query, { steps: k, ...rate, clipNorm: settings.innerClip });
    disposeMap(curve.params);
    total += curve.queryLosses[k];
  }
  return total / Math.max(tasks.length, 1);
}

/** Held-out tasks the dynamic-evaluation rate is chosen on (each rate replays them all). */
const DYNAMIC_TUNING_TASKS = 12;

/** Mean −ln p(true class) of dynamic evaluation over held-out query positions (capped as tasks are). */
export function dynamicClassLoss(
  model: TrainedModel,
  held: PreparedTasks,
  adaptation: AdaptationSettings,
  dynamic: DynamicSettings,
  settings: TrainSettings,
  k: number,
): number {
  let loss = 0;
  let count = 0;
  const vocab = model.classTokens.length;
  for (const task of held.tasks.slice(0, DYNAMIC_TUNING_TASKS)) {
    const all = held.ids.get(task.name) as Int32Array;
    const support = supportLength(all.length, settings.supportFraction, settings.maxSupportTokens);
    const ids = all.subarray(0, Math.min(all.length, support + settings.maxQueryTokens));
    withDynamicStart(model, ids, support, k, adaptation, (params) => {
      const rows = dynamicRows(params, ids, support, vocab, dynamic);
      for (let j = support; j < ids.length; j++) {
        loss -= Math.log(Math.max(rows[(j - support) * vocab + ids[j]], 1e-12));
        count++;
      }
    });
  }
  return count === 0 ? Infinity : loss / count;
}

/** The class map of a model over a scoring vocabulary (ids the vocabulary gets later are `<unk>`). */
export function classMapFor(classTokens: readonly string[], vocabulary: Vocabulary): ClassMap {
  const index = new Map(classTokens.map((token, c) => [token, c] as const));
  const classOfToken = new Int32Array(vocabulary.size).fill(UNK_CLASS);
  for (let id = 0; id < vocabulary.size; id++) classOfToken[id] = index.get(vocabulary.tokenOf(id)) ?? UNK_CLASS;
  const map = classMapOf(classOfToken);
  const missing = map.tokenOfClass.findIndex((token, c) => c !== UNK_CLASS && token < 0);
  if (map.tokenOfClass.length !== classTokens.length || missing >= 0) {
    throw new Error(`Class ${JSON.stringify(classTokens[missing])} is not in the n-gram's vocabulary; score with files that include the training files.`);
  }
  return map;
}

/**
 * Held-out tokens the gate is fitted on, at most: its positions are samples of
 * a logistic regression on `GATE_FEATURE_COUNT` features, and about a
 * thousand per weight pin each weight down; more only costs time (rxjs holds
 * out 6,871).
 */
export const GATE_TOKEN_BUDGET = 8_192;

/**
 * Tokens of the files the gate's n-gram counts, at most (rxjs has 62,844):
 * the training thread would otherwise count a 10,000-file workspace a second
 * time next to the engine's own n-gram, and its locality levels (up to half
 * the counted files each, several kept) grow with what it counts.
 */
export const GATE_NGRAM_TOKEN_BUDGET = 131_072;

/**
 * The gate's held-out files: all of them within `budget` tokens, else a seeded
 * shuffle's first files up to it (at least one), in their given order.
 */
export function gateFilesOf<T extends { tokens: readonly unknown[] }>(heldOut: readonly T[], budget: number, seed: number): T[] {
  if (tokensOf(heldOut) <= budget) return [...heldOut];
  const chosen = new Set<number>();
  let tokens = 0;
  for (const index of shuffledIndices(heldOut.length, new SeededRandom(seed))) {
    const length = heldOut[index].tokens.length;
    if (chosen.size > 0 && tokens + length > budget) continue;
    chosen.add(index);
    tokens += length;
  }
  return heldOut.filter((_, index) => chosen.has(index));
}

/**
 * The files the gate's n-gram knows: all of `files` within `budget` tokens,
 * else the `targets` and, ring by ring, the files next to each in path order
 * (the same folder first, as the n-gram's nested levels would look) up to it.
 */
export function gateKnownFilesOf<T extends { relPath: string; tokens: readonly unknown[] }>(files: readonly T[], targets: readonly T[], budget: number): T[] {
  if (tokensOf(files) <= budget) return [...files];
  const sorted = [...files].sort((a, b) => compareCodePoints(a.relPath, b.relPath));
  const at = new Map(sorted.map((file, index) => [file.relPath, index] as const));
  const centres = targets.map((file) => at.get(file.relPath)).filter((index): index is number => index !== undefined);
  const chosen = new Set<number>(centres);
  let tokens = centres.reduce((sum, index) => sum + sorted[index].tokens.length, 0);
  for (let ring = 1; ring < sorted.length && tokens < budget; ring++) {
    for (const centre of centres) {
      for (const index of [centre - ring, centre + ring]) {
        if (index < 0 || index >= sorted.length || chosen.has(index) || tokens + sorted[index].tokens.length > budget) continue;
        chosen.add(index);
        tokens += sorted[index].tokens.length;
      }
    }
  }
  return sorted.filter((_, index) => chosen.has(index));
}

function tokensOf(files: readonly { tokens: readonly unknown[] }[]): number {
  return files.reduce((sum, file) => sum + file.tokens.length, 0);
}

/**
 * Fits the neural / n-gram gate on held-out TRAIN files (at most
 * {@link GATE_TOKEN_BUDGET} tokens of them): the n-gram knows the other
 * TRAIN files (graph-nested, project setting; at most
 * {@link GATE_NGRAM_TOKEN_BUDGET} tokens, see `gateKnownFilesOf`), the
 * neural side is dynamic evaluation from the chosen learner adapted
 * `selectionK` steps (see `withDynamicStart`). It yields between files and
 * honours `control`: undefined once cancelled.
 */
export async function fitGateOnHeldOut(
  train: readonly CorpusFile[],
  heldOut: readonly CorpusFile[],
  prepared: PreparedTasks,
  model: TrainedModel,
  adaptation: AdaptationSettings,
  dynamic: DynamicSettings,
  options: Pick<FewShotOptions, 'settings' | 'selectionK' | 'ngram'>,
  control?: TrainControl,
): Promise<GateParameters | undefined> {
  const vocab = model.classTokens.length;
  const order = options.ngram?.order ?? 6;
  const targets = gateFilesOf(heldOut, GATE_TOKEN_BUDGET, options.settings.seed);
  const known = gateKnownFilesOf(train, targets, GATE_NGRAM_TOKEN_BUDGET);
  const samples: GateSample[] = [];
  let classes: ClassMap | undefined;
  const streams = new FileRowStreams();
  let completed: boolean;
  try {
    const ngramOptions: EvaluationOptions = { model: 'graph-nested', setting: 'project', ...options.ngram };
    completed = await scorePositionsBetweenFiles(
      known,
      targets,
      ngramOptions,
      (file, index, ngram, trueId, vocabulary) => {
        classes ??= classMapFor(model.classTokens, vocabulary);
        const support = supportLength(file.tokens.length + 1, options.settings.supportFraction, options.settings.maxSupportTokens);
        if (index < support) return;
        const rows = streams.of(file.relPath, () => {
          const ids = fileClassIds(file.tokens, prepared.classIndex);
          return withDynamicStart(model, ids, support, options.selectionK, adaptation, (params) => new DynamicRowStream(params, ids, support, vocab, dynamic));
        });
        const neural = new UnkHandOver(rows.row(index), ngram, classes, vocabulary);
        samples.push(gateSample(neural, ngram, neural.summary, order, trueId));
      },
      () => between(control),
      // The classes minus `<unk>`, whose token may be one the files have.
      model.classTokens.filter((_, c) => c !== UNK_CLASS),
    );
  } finally {
    streams.dispose();
  }
  return completed ? fitGate(samples, { order }) : undefined;
}

interface Variant {
  learner: string;
  k: number;
  metrics: MetricAccumulator;
}

function scoreTestFiles(
  all: readonly CorpusFile[],
  train: readonly CorpusFile[],
  test: readonly CorpusFile[],
  prepared: PreparedTasks,
  models: ReadonlyMap<LearnerName, TrainedModel>,
  dynamicModel: TrainedModel,
  gateParameters: GateParameters,
  adaptation: AdaptationSettings,
  dynamic: DynamicSettings,
  options: FewShotOptions,
  neighbourSupports: ReadonlyMap<string, Int32Array[]> | undefined,
): { rows: FewShotResult['rows']; queryTokens: number } {
  const ks = [...options.ks].sort((a, b) => a - b);
  const vocab = prepared.classTokens.length;
  const supportOf = new Map(
    test.map((file) => [file.relPath, supportLength(file.tokens.length + 1, options.settings.supportFraction, options.settings.maxSupportTokens)]),
  );
  const variants = new Map<string, Variant>();
  const variant = (learner: string, k: number): Variant => {
    const key = `${learner}@${k}`;
    let found = variants.get(key);
    if (!found) variants.set(key, (found = { learner, k, metrics: new MetricAccumulator() }));
    return found;
  };
  const score = (target: Variant, distribution: TokenDistribution, trueId: number, vocabulary: Vocabulary): void => {
    target.metrics.add(distribution.probability(trueId), rankOf(distribution, vocabulary, trueId));
  };

  // The static n-gram: TRAIN only, no cache.
  const staticMetrics = new MetricAccumulator();
  scorePositions(train, test, { model: 'ngram', setting: 'static', ...options.ngram }, (file, index, distribution, trueId, vocabulary) => {
    if (index < (supportOf.get(file.relPath) ?? Infinity)) return;
    staticMetrics.add(distribution.probability(trueId), rankOf(distribution, vocabulary, trueId));
  });

  const gate = new LogisticGate(gateParameters);
  let classes: ClassMap | undefined;
  let current: { path: string; support: number; rows: Map<string, Float32Array> } | undefined;
  let queryTokens = 0;
  const ngramRow = new MetricAccumulator();
  scorePositions(all, test, { model: 'graph-nested', setting: 'project', ...options.ngram }, (file, index, ngram, trueId, vocabulary) => {
    classes ??= classMapFor(prepared.classTokens, vocabulary);
    if (current?.path !== file.relPath) current = neuralRowsOf(file, prepared, models, dynamicModel, adaptation, dynamic, ks, supportOf, neighbourSupports);
    if (index < current.support) return;
    queryTokens++;
    ngramRow.add(ngram.probability(trueId), rankOf(ngram, vocabulary, trueId));
    const mass = inClassNgramMass(ngram, classes);
    const offset = (index - current.support) * vocab;
    for (const [key, rows] of current.rows) {
      const [learner, kText] = key.split('@');
      const neural = new UnkHandOver(rows.subarray(offset, offset + vocab), ngram, classes, vocabulary, mass);
      score(variant(learner, Number(kText)), neural, trueId, vocabulary);
      if (learner === 'dynamic-eval') score(variant('mixture', Number(kText)), gate.mix(neural, ngram, neural.summary), trueId, vocabulary);
    }
  });

  const rows: FewShotResult['rows'] = [];
  const push = (learner: string, k: number, summary: MetricSummary): void => {
    rows.push({ learner, k, entropy: summary.entropy, mrr: summary.mrr, top1: summary.top1, tokens: summary.tokens });
  };
  for (const learner of FEWSHOT_LEARNERS) {
    for (const k of ks) {
      if (learner === 'ngram-static') push(learner, k, staticMetrics.summary());
      else if (learner === 'ngram-graph-nested') push(learner, k, ngramRow.summary());
      else if (learner === 'lstm') push(learner, k, variant('transfer', 0).metrics.summary());
      else {
        const found = variants.get(`${learner}@${k}`);
        if (found) push(learner, k, found.metrics.summary());
      }
    }
  }
  return { rows, queryTokens };
}

/** Every neural model's class rows over one test file's query, keyed `learner@k`. */
function neuralRowsOf(
  file: CorpusFile,
  prepared: PreparedTasks,
  models: ReadonlyMap<LearnerName, TrainedModel>,
  dynamicModel: TrainedModel,
  adaptation: AdaptationSettings,
  dynamic: DynamicSettings,
  ks: readonly number[],
  supportOf: ReadonlyMap<string, number>,
  neighbourSupports: ReadonlyMap<string, Int32Array[]> | undefined,
): { path: string; support: number; rows: Map<string, Float32Array> } {
  const ids = fileClassIds(file.tokens, prepared.classIndex);
  const support = supportOf.get(file.relPath) as number;
  // With neighbour supports the file's first part is context only: the query is the same either way.
  const supports = neighbourSupports?.get(file.relPath) ?? [ids.subarray(0, support)];
  const rows = new Map<string, Float32Array>();
  for (const [name, model] of models) {
    adaptedRows(model, supports, ids, support, ks, adaptation, model === dynamicModel ? { ...dynamic, ks } : undefined, (learner, k, classRowsAtK) =>
      rows.set(`${learner === 'dynamic-eval' ? learner : name}@${k}`, classRowsAtK),
    );
  }
  return { path: file.relPath, support, rows };
}

/**
 * A model's class rows over `ids[from ..]` after k steps of adaptation to
 * `supports` for each k of `ks` (reported as its learner), and with
 * `dynamic`, dynamic evaluation from the adapted θ at `dynamic.ks` (reported
 * as `dynamic-eval`): how both the few-shot experiment and a training run
 * score their tables.
 */
export function adaptedRows(
  model: TrainedModel,
  supports: readonly ArrayLike<number>[],
  ids: Int32Array,
  from: number,
  ks: readonly number[],
  adaptation: AdaptationSettings,
  dynamic: (DynamicSettings & { ks: readonly number[] }) | undefined,
  visit: (learner: string, k: number, rows: Float32Array) => void,
): void {
  const vocab = model.classTokens.length;
  adaptToSupport(model, supports, ks, adaptation, (k, run, params) => {
    visit(model.learner, k, classRows(run, ids, from, vocab));
    if (dynamic !== undefined && params !== undefined && dynamic.ks.includes(k)) visit('dynamic-eval', k, dynamicRows(params, ids, from, vocab, dynamic));
  });
}

/**
 * The few-shot table a training run reports from scores it accumulated by
 * `learner@k` (see `reportCurves` in pipeline.ts): query entropy in bits per
 * token and MRR over the model's classes (a token outside them is `<unk>`, a
 * class like any other), without the n-gram hand-over of this experiment,
 * so that it is cheap enough for every run. Rows in this table's order.
 */
export function fewShotRowsOf(scores: ReadonlyMap<string, MetricAccumulator>, ks: readonly number[]): FewShotRow[] {
  const rows: FewShotRow[] = [];
  for (const learner of FEWSHOT_LEARNERS) {
    for (const k of [...ks].sort((a, b) => a - b)) {
      const summary = scores.get(`${learner}@${k}`)?.summary();
      if (summary !== undefined && summary.tokens > 0) rows.push({ learner, k, entropy: summary.entropy, mrr: summary.mrr });
    }
  }
  return rows;
}
