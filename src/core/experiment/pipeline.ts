import type { EvaluationOptions } from '../eval/evaluate';
import { adaptWithCurve } from '../meta/innerLoop';
import { metaNetworkQueryCurve } from '../meta/metaNetwork';
import { disposeMap } from '../meta/paramMaps';
import type { MetaTask } from '../meta/tasks';
import type { ParamMap } from '../neural/lstm';
import type { CorpusFile } from '../text/corpus';
import type { LearnerName, TrainingSink } from './events';
import { innerRateOf } from './adapt';
import type { AdaptationSettings, DynamicSettings } from './adapt';
import { argMin, dynamicClassLoss, fitGateOnHeldOut } from './fewshot';
import { disposeTrainedModel } from './model';
import type { TrainedModel } from './model';
import { meanSquaresFor, metaNetworkLossByRate, prepareTasks, pretrainModel, queryLossByRate, taskShape, trainLearner } from './train';
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
  ngram?: Pick<EvaluationOptions, 'order' | 'smoothing'>;
  log?: (line: string) => void;
}

export interface TrainModelResult {
  /** Undefined when the run was cancelled. The caller owns (and disposes) it. */
  model: TrainedModel | undefined;
  metaLosses: number[];
  cancelled: boolean;
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
  const selection = held.tasks.slice(0, options.selectionTasks ?? 12);
  log(`${kept.length} training files (${prepared.tasks.length} tasks), ${heldOut.length} held out; ${prepared.classTokens.length} classes`);
  const cancelledResult: TrainModelResult = { model: undefined, metaLosses: [], cancelled: true };

  const pretrained = await pretrainModel(prepared, settings, sink, control);
  let model: TrainedModel | undefined;
  let metaLosses: number[] = [];
  try {
    if (control?.signal?.aborted) return cancelledResult;
    if (held.tasks.length > 0) {
      const losses = queryLossByRate(pretrained, selection, options.selectionK, options.innerRates, settings.innerClip);
      settings.innerLr = options.innerRates[argMin(losses)];
      log(`inner rate ${settings.innerLr}`);
    }
    const trained = await trainLearner(learner, pretrained, prepared, settings, sink, control);
    model = trained.model;
    metaLosses = trained.metaLosses;
    if (trained.cancelled || control?.signal?.aborted) {
      disposeTrainedModel(model);
      return { ...cancelledResult, metaLosses };
    }
    model.meanSquares = meanSquaresFor(pretrained, prepared);
    if (sink !== undefined) reportCurves(model, pretrained, selection, settings, sink);
  } finally {
    disposeMap(pretrained);
  }

  sink?.({ type: 'training-state', phase: 'fitting-gate', learner, step: 0, totalSteps: 0 });
  let adapterLr = settings.adapterLr;
  let dynamicLr = settings.dynamicLr;
  if (held.tasks.length > 0) {
    if (learner === 'meta-network') {
      adapterLr = options.adapterRates[argMin(metaNetworkLossByRate(model, selection, options.selectionK, options.adapterRates))];
    }
    const adaptation: AdaptationSettings = { innerLr: settings.innerLr, adapterLr, innerClip: settings.innerClip, shape: taskShape(settings) };
    const dynamicLosses = options.dynamicRates.map((lr) =>
      dynamicClassLoss(
        model as TrainedModel,
        held,
        adaptation,
        { lr, decay: settings.dynamicDecay, segment: settings.dynamicSegment, meanSquares: model?.meanSquares },
        settings,
        options.selectionK,
      ),
    );
    dynamicLr = options.dynamicRates[argMin(dynamicLosses)];
    const dynamic: DynamicSettings = { lr: dynamicLr, decay: settings.dynamicDecay, segment: settings.dynamicSegment, meanSquares: model.meanSquares };
    model.gate = fitGateOnHeldOut(pool, heldOut, prepared, model, adaptation, dynamic, {
      settings,
      selectionK: options.selectionK,
      ngram: options.ngram,
    });
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
  return { model, metaLosses, cancelled: false };
}

/**
 * For the panel: each held-out task's query loss after k = 0..K inner steps,
 * for the trained learner and for the transfer baseline (the pre-trained θ
 * fine-tuned at the same rate), then every task's loss before and after.
 */
function reportCurves(model: TrainedModel, pretrained: ParamMap, tasks: readonly MetaTask[], settings: TrainSettings, sink: TrainingSink): void {
  const k = settings.innerSteps;
  const losses: { task: string; before: number; after: number }[] = [];
  for (const task of tasks) {
    const baselineCurve = adaptWithCurve(pretrained, task.support, task.query, { steps: k, lr: settings.innerLr, clipNorm: settings.innerClip });
    disposeMap(baselineCurve.params);
    let queryLoss: number[];
    if (model.learner === 'meta-network' && model.network) {
      queryLoss = metaNetworkQueryCurve({ params: model.params, network: model.network }, task, { steps: k, lr: settings.adapterLr });
    } else {
      const rate = innerRateOf(model, settings.innerLr);
      const curve = adaptWithCurve(model.params, task.support, task.query, { steps: k, ...rate, clipNorm: settings.innerClip });
      disposeMap(curve.params);
      queryLoss = curve.queryLosses;
    }
    sink({ type: 'adaptation-curve', learner: model.learner, task: task.name, queryLoss, baseline: baselineCurve.queryLosses });
    losses.push({ task: task.name, before: queryLoss[0], after: queryLoss[k] });
  }
  if (losses.length > 0) sink({ type: 'task-losses', learner: model.learner, k, losses });
}
