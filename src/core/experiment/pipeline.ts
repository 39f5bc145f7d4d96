import type { EvaluationOptions } from '../eval/evaluate';
import { MetricAccumulator } from '../eval/metrics';
import { metaNetworkQueryCurve } from '../meta/metaNetwork';
import { disposeMap, meanLoss } from '../meta/paramMaps';
import type { MetaTask } from '../meta/tasks';
import type { ParamMap } from '../neural/lstm';
import type { CorpusFile } from '../text/corpus';
import type { LearnerName, TrainingSink } from './events';
import { adaptToSupport, addClassScores, classRows } from './adapt';
import type { AdaptationSettings, DynamicSettings } from './adapt';
import { argMin, dynamicClassLoss, fewShotRowsOf, fitGateOnHeldOut, GATE_TOKEN_BUDGET, gateFilesOf } from './fewshot';
import { TaskGraph } from '../graph/taskGraph';
import { disposeTrainedModel } from './model';
import type { TrainedModel } from './model';
import {
  between,
  meanSquaresFor,
  metaNetworkLossByRate,
  prepareTasks,
  pretrainModel,
  queryLossByRate,
  taskQueryLosses,
  taskShape,
  trainLearner,
  useNeighbourSupports,
} from './train';
import type { TrainControl, TrainSettings } from './train';

/**
 * Training a model for use: what `metacomplete train` and the extension's
 * "Start/Resume Meta-Training" run. Every file given is a task; every
 * `heldOutEvery`-th (by path) is held out to choose the rates and to fit the
 * neural / n-gram gate, as the few-shot experiment does.
 */
export interface TrainModelOptions {
  settings: TrainSettings;
  learner: LearnerName;
  heldOutEvery: number;
  innerRates: readonly number[];
  adapterRates: readonly number[];
  dynamicRates: readonly number[];
  selectionK: number;
  /**
   * Held-out tasks the inner and adapter rates are chosen on (each candidate
   * rate replays them): fewer keeps a workspace's training run short. Default 12.
   */
  selectionTasks?: number;
  /**
   * The n-gram the gate is fitted against. Its `mixing` should be the one the
   * mixture will run with: the protocol's evaluations fit it on TRAIN
   * (default), the extension's engine uses confidence mixing.
   */
  ngram?: Pick<EvaluationOptions, 'order' | 'smoothing' | 'mixing'>;
  log?: (line: string) => void;
}

/**
 * Inner steps of the few-shot table a training run reports, those up to its
 * inner steps k: k = 20 would add 20 inner steps per held-out task and model.
 */
export const FEWSHOT_TABLE_KS: readonly number[] = [0, 1, 5, 20];

export interface TrainModelResult {
  /** Undefined when the run was cancelled. The caller owns (and disposes) it. */
  model: TrainedModel | undefined;
  metaLosses: number[];
  cancelled: boolean;
  /** The files each task's support set was taken from, by task: the file itself for a prefix support. */
  supportSources: Map<string, readonly string[]>;
}

/**
 * Sorted by path, every `every`-th file held out; a workspace of fewer than
 * `every` files (but at least 3) holds out its last one, so that the gate
 * is always fitted on a file training did not see.
 */
export function holdOut<T extends { relPath: string }>(files: readonly T[], every: number): { kept: T[]; heldOut: T[] } {
  const sorted = [...files].sort((a, b) => (a.relPath < b.relPath ? -1 : a.relPath > b.relPath ? 1 : 0));
  const few = sorted.length >= 3 && sorted.length < every;
  const isHeld = (i: number): boolean => (few ? i === sorted.length - 1 : i % every === every - 1);
  return { kept: sorted.filter((_, i) => !isHeld(i)), heldOut: sorted.filter((_, i) => isHeld(i)) };
}

export async function trainModel(
  files: readonly CorpusFile[],
  options: TrainModelOptions,
  sink?: TrainingSink,
  control?: TrainControl,
): Promise<TrainModelResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  const settings = { ...options.settings };
  const learner = options.learner;
  const pool = files.filter((file) => file.tokens.length > 0);
  const { kept, heldOut } = holdOut(pool, options.heldOutEvery);
  if (kept.length === 0) throw new Error('There is nothing to train on: index some source files first.');
  const asTraining = (list: readonly CorpusFile[]) => list.map((file) => ({ path: file.relPath, tokens: file.tokens }));
  sink?.({ type: 'training-state', phase: 'preparing', learner, step: 0, totalSteps: 0 });
  const prepared = prepareTasks(asTraining(kept), settings);
  const held = prepareTasks(asTraining(heldOut), settings, prepared.classTokens);
  log(`${kept.length} training files (${prepared.tasks.length} tasks), ${heldOut.length} held out; ${prepared.classTokens.length} classes`);
  const neighbourSources = settings.support === 'neighbours' ? useNeighbourSupports(TaskGraph.build(asTraining(pool)), prepared, held, settings, log) : new Map<string, string[]>();
  const supportSources = new Map([...prepared.tasks, ...held.tasks].map((task) => [task.name, neighbourSources.get(task.name) ?? [task.name]] as const));
  const selection = held.tasks.slice(0, options.selectionTasks ?? 12);
  const cancelledResult: TrainModelResult = { model: undefined, metaLosses: [], cancelled: true, supportSources };

  const pretrained = await pretrainModel(prepared, settings, sink, control);
  let model: TrainedModel | undefined;
  let metaLosses: number[] = [];
  const cancelled = (): TrainModelResult => {
    if (model !== undefined) disposeTrainedModel(model);
    return { ...cancelledResult, metaLosses };
  };
  try {
    if (held.tasks.length > 0) {
      const losses = await byRate(options.innerRates, (lr) => queryLossByRate(pretrained, selection, options.selectionK, [lr], settings.innerClip)[0], control);
      if (losses === undefined) return cancelled();
      settings.innerLr = options.innerRates[argMin(losses)];
      log(`inner rate ${settings.innerLr}`);
    }
    if (control?.signal?.aborted) return cancelled();
    const trained = await trainLearner(learner, pretrained, prepared, settings, sink, control);
    model = trained.model;
    metaLosses = trained.metaLosses;
    if (trained.cancelled || control?.signal?.aborted) return cancelled();
    model.meanSquares = meanSquaresFor(pretrained, prepared);
    if (sink !== undefined) {
      const curvesStarted = performance.now();
      const table = new Map<string, MetricAccumulator>();
      if (!(await reportCurves(model, pretrained, selection, prepared.tasks, settings, sink, table, control))) return cancelled();
      // No dynamic-evaluation row: it would cost a dynamic pass over every held-out query.
      if (table.size > 0) sink({ type: 'fewshot-table', rows: fewShotRowsOf(table, FEWSHOT_TABLE_KS) });
      log(`adaptation curves, task losses and few-shot table in ${((performance.now() - curvesStarted) / 1000).toFixed(1)} s`);
    }
  } finally {
    disposeMap(pretrained);
  }

  if (!(await between(control))) return cancelled();
  sink?.({ type: 'training-state', phase: 'fitting-gate', learner, step: 0, totalSteps: 0 });
  let adapterLr = settings.adapterLr;
  let dynamicLr = settings.dynamicLr;
  if (held.tasks.length > 0) {
    const trainedModel = model;
    if (learner === 'meta-network') {
      const losses = await byRate(options.adapterRates, (lr) => metaNetworkLossByRate(trainedModel, selection, options.selectionK, [lr])[0], control);
      if (losses === undefined) return cancelled();
      adapterLr = options.adapterRates[argMin(losses)];
    }
    const adaptation: AdaptationSettings = { innerLr: settings.innerLr, adapterLr, innerClip: settings.innerClip, shape: taskShape(settings) };
    const dynamicAt = (lr: number): DynamicSettings => ({ lr, decay: settings.dynamicDecay, segment: settings.dynamicSegment, meanSquares: trainedModel.meanSquares });
    const dynamicLosses = await byRate(options.dynamicRates, (lr) => dynamicClassLoss(trainedModel, held, adaptation, dynamicAt(lr), settings, options.selectionK), control);
    if (dynamicLosses === undefined) return cancelled();
    dynamicLr = options.dynamicRates[argMin(dynamicLosses)];
    log(`dynamic-evaluation rate ${dynamicLr}`);
    const gateOptions = { settings, selectionK: options.selectionK, ngram: options.ngram };
    const gate = await fitGateOnHeldOut(pool, heldOut, prepared, model, adaptation, dynamicAt(dynamicLr), gateOptions, control);
    if (gate === undefined) return cancelled();
    model.gate = gate;
    const fittedOn = gateFilesOf(heldOut, GATE_TOKEN_BUDGET, settings.seed).length;
    log(`gate fitted on ${fittedOn} held-out files${fittedOn < heldOut.length ? ` (a sample of the ${heldOut.length}, up to ${GATE_TOKEN_BUDGET} tokens)` : ''}`);
  }
  model.hyper = { ...model.hyper, innerLr: settings.innerLr, dynamicLr };
  model.provenance = {
    files: kept.length,
    heldOutFiles: heldOut.length,
    tokens: kept.reduce((sum, file) => sum + file.tokens.length, 0),
    outerSteps: metaLosses.length,
    finalMetaLoss: metaLosses.length > 0 ? metaLosses[metaLosses.length - 1] : 0,
    adapterLr,
    trainedAt: new Date().toISOString(),
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
  };
  // 'done' is the caller's to say, once the model is saved and in use.
  return { model, metaLosses, cancelled: false, supportSources };
}

/**
 * Training tasks the panel colours by their unadapted query loss, at most
 * (evenly spread by path): a forward pass over each one's query, about 20 s
 * for this many on a loaded 2-core machine, however large the workspace.
 */
export const COLOURED_TASKS = 1024;

/** Training tasks scored between two yields to the event loop, where pause and cancel are heard. */
const TASKS_PER_YIELD = 32;

/** At most `count` of `items`, evenly spread, in their order. */
export function evenlySpread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]);
}

/** `score` of each rate, yielding before each (where pause and cancel are heard); undefined once cancelled. */
async function byRate(rates: readonly number[], score: (lr: number) => number, control: TrainControl | undefined): Promise<number[] | undefined> {
  const losses: number[] = [];
  for (const lr of rates) {
    if (!(await between(control))) return undefined;
    losses.push(score(lr));
  }
  return losses;
}

/**
 * For the panel: each held-out task's query loss after k = 0..K inner steps,
 * for the trained learner and for the transfer baseline (the pre-trained θ
 * fine-tuned at the same rate), then the loss of training tasks (at most
 * {@link COLOURED_TASKS}) before adapting. The same adaptations score the
 * few-shot table's rows for k ≤ K into `table` (class level, see
 * {@link fewShotRowsOf}), so the table costs no inner step of its own.
 * False once cancelled (it yields between tasks).
 */
async function reportCurves(
  model: TrainedModel,
  pretrained: ParamMap,
  tasks: readonly MetaTask[],
  allTrainingTasks: readonly MetaTask[],
  settings: TrainSettings,
  sink: TrainingSink,
  table: Map<string, MetricAccumulator>,
  control: TrainControl | undefined,
): Promise<boolean> {
  const k = settings.innerSteps;
  const tableKs = FEWSHOT_TABLE_KS.filter((tableK) => tableK <= k);
  const adaptation: AdaptationSettings = { innerLr: settings.innerLr, adapterLr: settings.adapterLr, innerClip: settings.innerClip, shape: taskShape(settings) };
  const transfer: TrainedModel = { ...model, learner: 'transfer', params: pretrained, lrs: undefined, network: undefined };
  const losses: { task: string; before: number; after: number }[] = [];
  for (const task of tasks) {
    if (!(await between(control))) return false;
    // A transfer run's model is the baseline: its rows are scored once.
    const baseline = curveAndTable(transfer, task, k, model.learner === 'transfer' ? [] : tableKs, adaptation, table);
    let queryLoss: number[];
    if (model.learner === 'meta-network' && model.network) {
      queryLoss = metaNetworkQueryCurve({ params: model.params, network: model.network }, task, { steps: k, lr: settings.adapterLr });
      curveAndTable(model, task, 0, tableKs, adaptation, table);
    } else {
      queryLoss = curveAndTable(model, task, k, tableKs, adaptation, table);
    }
    sink({ type: 'adaptation-curve', learner: model.learner, task: task.name, queryLoss, baseline });
    losses.push({ task: task.name, before: queryLoss[0], after: queryLoss[k] });
  }
  if (losses.length > 0) sink({ type: 'task-losses', learner: model.learner, k, losses });
  // Training tasks' unadapted query loss too, as k = 0 (after = before), so that the panel's graph nodes have a colour.
  const trainingTasks = evenlySpread(allTrainingTasks, COLOURED_TASKS);
  const unadapted: number[] = [];
  for (let start = 0; start < trainingTasks.length; start += TASKS_PER_YIELD) {
    if (!(await between(control))) return false;
    const chunk = trainingTasks.slice(start, start + TASKS_PER_YIELD);
    unadapted.push(
      ...(model.learner === 'meta-network' && model.network
        ? chunk.map((task) => metaNetworkQueryCurve({ params: model.params, network: model.network as ParamMap }, task, { steps: 0, lr: settings.adapterLr })[0])
        : taskQueryLosses(model.params, chunk)),
    );
  }
  const trainingLosses = trainingTasks
    .map((task, i) => ({ task: task.name, before: unadapted[i], after: unadapted[i] }))
    .filter((loss) => Number.isFinite(loss.before));
  if (trainingLosses.length > 0) sink({ type: 'task-losses', learner: model.learner, k: 0, losses: trainingLosses });
  return true;
}

/**
 * Adapts `model` to a task's support for k = 0..`steps` (its loss-vs-k
 * curve on the task's query) and scores the query's class rows at each k of
 * `tableKs` into `table` under `learner@k`. Models whose adaptation is not a
 * θ update (the Meta-Network) get their table rows only: pass `steps` 0.
 */
function curveAndTable(
  model: TrainedModel,
  task: MetaTask,
  steps: number,
  tableKs: readonly number[],
  adaptation: AdaptationSettings,
  table: Map<string, MetricAccumulator>,
): number[] {
  const curve: number[] = [];
  const ids = task.ids;
  if (ids === undefined) return curve;
  const query = Int32Array.from(ids.query);
  const vocab = model.classTokens.length;
  const ks = [...new Set([...Array.from({ length: steps + 1 }, (_, k) => k), ...tableKs])];
  adaptToSupport(model, ids.support, ks, adaptation, (k, run, params) => {
    if (params !== undefined && k <= steps) curve[k] = meanLoss(params, task.query).loss;
    if (tableKs.includes(k) && query.length > ids.queryFrom) {
      addClassScores(tableEntry(table, model.learner, k), classRows(run, query, ids.queryFrom, vocab), query, ids.queryFrom, vocab);
    }
  });
  return curve;
}

function tableEntry(table: Map<string, MetricAccumulator>, learner: string, k: number): MetricAccumulator {
  const key = `${learner}@${k}`;
  let entry = table.get(key);
  if (entry === undefined) table.set(key, (entry = new MetricAccumulator()));
  return entry;
}
