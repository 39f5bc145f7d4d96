import { isFiniteNumber, isNonNegativeInteger, isRecord, itemsOf } from './guards';
import { describeValue } from '../core/text/quote';
import { LEARNER_NAMES } from './trainingEvents';
import type { FewShotRow, LearnerName, SupportKind, TrainingEvent, TrainingPhase } from './trainingEvents';

/**
 * Messages between the extension host and the training panel's webview, and
 * what a delta does to the panel's state. Both ends import this one module:
 * the host folds events into a `PanelState` with `applyPanelChange`, the
 * webview folds the deltas it receives with the same function, so the two
 * agree by construction. No vscode, DOM or worker types.
 */

/** Bumped whenever a panel message changes shape; both ends check it on every message. */
export const PANEL_PROTOCOL_VERSION = 2;

/** Curves keep at most this many points; past it every other old point is dropped (the shape survives). */
export const MAX_CURVE_POINTS = 4000;

/** Inclusive bounds of the inner-step control. */
export const MAX_INNER_STEPS = 100;

export const SUPPORT_KINDS: readonly SupportKind[] = ['prefix', 'neighbours'];

const TRAINING_PHASES: readonly TrainingPhase[] = [
  'idle', 'preparing', 'pretraining', 'meta-training', 'fitting-gate', 'paused', 'done', 'cancelled', 'error',
];

// --- state ------------------------------------------------------------------------------

/** One file of the task graph as the panel draws it. */
export interface PanelGraphNode {
  /** Workspace-relative path; the node's id. */
  path: string;
  tokens: number;
  community: number;
  /** Query loss (nats per token) before and after k-step adaptation, once the engine measured them. */
  lossBefore?: number;
  lossAfter?: number;
}

/** A similarity edge, each undirected pair once. */
export interface PanelGraphEdge {
  source: string;
  target: string;
  weight: number;
}

export interface PanelGraph {
  nodes: PanelGraphNode[];
  edges: PanelGraphEdge[];
}

export interface PanelTrainingState {
  phase: TrainingPhase;
  learner: LearnerName;
  step: number;
  totalSteps: number;
  /** The numeric backend the engine chose ('wasm', 'tensorflow', 'cpu'), or '' until it reports one. */
  backend: string;
  message?: string;
  /** Last pre-training epoch, shown beside the phase. */
  pretrain?: { epoch: number; epochs: number; loss: number };
}

/** What the user steers; the host only changes these after the engine accepted them. */
export interface PanelControls {
  learner: LearnerName;
  alpha: number;
  beta: number;
  innerLr: number;
  innerSteps: number;
  support: SupportKind;
}

/** A curve as two parallel columns (what the chart library draws without copying). */
export interface CurvePoints {
  x: number[];
  y: number[];
}

/** The adaptation curves of one task: query loss after k = 0..K inner steps. */
export interface TaskAdaptation {
  task: string;
  /** One curve per learner that was measured on this task. */
  curves: { learner: LearnerName; queryLoss: number[] }[];
  /** The transfer baseline from its own init, when measured. */
  baseline?: number[];
}

export interface PanelCurves {
  /** Outer (meta) loss against outer step, one curve per learner. */
  outerLoss: { learner: LearnerName; points: CurvePoints }[];
  /** The selected task's adaptation curves; undefined until one is measured or selected. */
  adaptation?: TaskAdaptation;
  /** Online loss of the file being edited against tokens typed. */
  online?: { task: string; points: CurvePoints };
  fewShot: FewShotRow[];
}

/** Everything the panel shows. */
export interface PanelState {
  graph: PanelGraph;
  training: PanelTrainingState;
  controls: PanelControls;
  /** The task whose adaptation curve is shown. */
  selectedTask?: string;
  curves: PanelCurves;
}

export const DEFAULT_CONTROLS: PanelControls = {
  learner: 'reptile',
  alpha: 1,
  beta: 1,
  innerLr: 0.1,
  innerSteps: 5,
  support: 'prefix',
};

export function emptyPanelState(controls: PanelControls = DEFAULT_CONTROLS): PanelState {
  return {
    graph: { nodes: [], edges: [] },
    training: { phase: 'idle', learner: controls.learner, step: 0, totalSteps: 0, backend: '' },
    controls: { ...controls },
    curves: { outerLoss: [], fewShot: [] },
  };
}

// --- messages ---------------------------------------------------------------------------

/** One change to the panel's state, carried by a delta. */
export type PanelChange =
  | { kind: 'training'; event: TrainingEvent }
  /** The task graph was rebuilt or changed: the whole graph, losses already merged in. */
  | { kind: 'graph'; graph: PanelGraph }
  /** The engine accepted new control values. */
  | { kind: 'controls'; controls: PanelControls }
  /** Another task was selected: its adaptation curves as the host knows them. */
  | { kind: 'selection'; task: string; adaptation?: TaskAdaptation }
  | { kind: 'backend'; backend: string };

/** host → webview: the whole state, sent on open, reveal and reload, and after a gap in deltas. */
export interface PanelSnapshotMessage {
  type: 'panel/snapshot';
  version: number;
  /** Sequence number of the last change this snapshot includes. */
  seq: number;
  state: PanelState;
}

/** host → webview: one change, numbered `seq` (the previous message's seq + 1). */
export interface PanelDeltaMessage {
  type: 'panel/delta';
  version: number;
  seq: number;
  change: PanelChange;
}

/** host → webview: something the user should read (a refused command, an export saved); not state. */
export interface PanelNoticeMessage {
  type: 'panel/notice';
  version: number;
  level: 'info' | 'error';
  text: string;
}

/** webview → host: the page has loaded and wants a snapshot. */
export interface PanelReadyMessage {
  type: 'panel/ready';
  version: number;
}

/** webview → host: a delta arrived out of order; send a snapshot. */
export interface PanelResyncMessage {
  type: 'panel/resync';
  version: number;
  /** The last seq the webview applied. */
  lastSeq: number;
}

/** What the user asked for from the panel. */
export type PanelCommand =
  | { kind: 'start' }
  | { kind: 'pause' }
  | { kind: 'setLearner'; learner: LearnerName }
  | { kind: 'setAlpha'; value: number }
  | { kind: 'setBeta'; value: number }
  | { kind: 'setInnerLr'; value: number }
  | { kind: 'setInnerSteps'; value: number }
  | { kind: 'setSupport'; support: SupportKind }
  /** Show this task's adaptation curve and open the file. */
  | { kind: 'selectTask'; path: string }
  /** Save a chart's data; the host asks where. */
  | { kind: 'exportCsv'; chart: string; csv: string }
  /** Save a chart's picture, a `data:image/png;base64,` URL; the host asks where. */
  | { kind: 'exportPng'; chart: string; dataUrl: string };

/** webview → host: a user command, validated before the host acts on it. */
export interface PanelCommandMessage {
  type: 'panel/command';
  version: number;
  command: PanelCommand;
}

export type HostToPanelMessage = PanelSnapshotMessage | PanelDeltaMessage | PanelNoticeMessage;
export type PanelToHostMessage = PanelReadyMessage | PanelResyncMessage | PanelCommandMessage;

// --- validation -------------------------------------------------------------------------

function isLearner(value: unknown): value is LearnerName {
  return typeof value === 'string' && (LEARNER_NAMES as readonly string[]).includes(value);
}

function isSupport(value: unknown): value is SupportKind {
  return typeof value === 'string' && (SUPPORT_KINDS as readonly string[]).includes(value);
}

function isNumberArray(value: unknown): value is number[] {
  return itemsOf(value)?.every(isFiniteNumber) ?? false;
}

const PNG_DATA_URL = /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/;

/** Why `value` is not a valid α (or β), or undefined when it is. */
export function invalidWeight(value: unknown): string | undefined {
  return isFiniteNumber(value) && value >= 0 ? undefined : 'must be a number ≥ 0';
}

/** Why `value` is not a valid inner learning rate, or undefined when it is. */
export function invalidInnerLr(value: unknown): string | undefined {
  return isFiniteNumber(value) && value > 0 ? undefined : 'must be a number > 0';
}

/** Why `value` is not a valid number of inner steps, or undefined when it is. */
export function invalidInnerSteps(value: unknown): string | undefined {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_INNER_STEPS
    ? undefined
    : `must be a whole number from 0 to ${MAX_INNER_STEPS}`;
}

function invalidControls(controls: unknown): string | undefined {
  if (!isRecord(controls)) return 'controls must be an object';
  if (!isLearner(controls.learner)) return `learner ${describeValue(controls.learner)} is not one of ${LEARNER_NAMES.join(', ')}`;
  const problem =
    prefixed('alpha', invalidWeight(controls.alpha)) ??
    prefixed('beta', invalidWeight(controls.beta)) ??
    prefixed('innerLr', invalidInnerLr(controls.innerLr)) ??
    prefixed('innerSteps', invalidInnerSteps(controls.innerSteps));
  if (problem !== undefined) return problem;
  if (!isSupport(controls.support)) return `support ${describeValue(controls.support)} is not one of ${SUPPORT_KINDS.join(', ')}`;
  return undefined;
}

function prefixed(name: string, problem: string | undefined): string | undefined {
  return problem === undefined ? undefined : `${name} ${problem}`;
}

/** Why `event` is not a valid TrainingEvent, or undefined when it is. */
export function invalidTrainingEvent(event: unknown): string | undefined {
  if (!isRecord(event)) return 'a training event must be an object';
  switch (event.type) {
    case 'training-state':
      if (!(TRAINING_PHASES as readonly unknown[]).includes(event.phase)) return `unknown training phase ${describeValue(event.phase)}`;
      if (!isLearner(event.learner)) return `unknown learner ${describeValue(event.learner)}`;
      if (!isNonNegativeInteger(event.step) || !isNonNegativeInteger(event.totalSteps)) return 'training-state needs whole step and totalSteps';
      if (event.message !== undefined && typeof event.message !== 'string') return 'training-state message must be text';
      return undefined;
    case 'pretrain-epoch':
      if (!isNonNegativeInteger(event.epoch) || !isNonNegativeInteger(event.epochs) || !isFiniteNumber(event.loss)) {
        return 'pretrain-epoch needs whole epoch and epochs and a finite loss';
      }
      return undefined;
    case 'outer-step':
      if (!isLearner(event.learner)) return `unknown learner ${describeValue(event.learner)}`;
      if (!isNonNegativeInteger(event.step) || !isNonNegativeInteger(event.totalSteps) || !isFiniteNumber(event.metaLoss)) {
        return 'outer-step needs whole step and totalSteps and a finite metaLoss';
      }
      if (!(itemsOf(event.tasks)?.every((task) => typeof task === 'string') ?? false)) return 'outer-step tasks must be paths';
      return undefined;
    case 'adaptation-curve':
      if (!isLearner(event.learner)) return `unknown learner ${describeValue(event.learner)}`;
      if (typeof event.task !== 'string') return 'adaptation-curve needs a task path';
      if (!isNumberArray(event.queryLoss)) return 'adaptation-curve queryLoss must be finite numbers';
      if (event.baseline !== undefined && !isNumberArray(event.baseline)) return 'adaptation-curve baseline must be finite numbers';
      return undefined;
    case 'task-losses':
      if (!isLearner(event.learner)) return `unknown learner ${describeValue(event.learner)}`;
      if (!isNonNegativeInteger(event.k)) return 'task-losses needs a whole k';
      if (
        !(itemsOf(event.losses)?.every((loss) => isRecord(loss) && typeof loss.task === 'string' && isFiniteNumber(loss.before) && isFiniteNumber(loss.after)) ??
          false)
      ) {
        return 'task-losses needs { task, before, after } entries with finite losses';
      }
      return undefined;
    case 'online-loss':
      if (typeof event.task !== 'string' || !isNonNegativeInteger(event.tokens) || !isFiniteNumber(event.loss)) {
        return 'online-loss needs a task path, whole tokens and a finite loss';
      }
      return undefined;
    case 'fewshot-table':
      if (
        !(
          itemsOf(event.rows)?.every(
            (row) => isRecord(row) && typeof row.learner === 'string' && isNonNegativeInteger(row.k) && isFiniteNumber(row.entropy) && isFiniteNumber(row.mrr),
          ) ?? false
        )
      ) {
        return 'fewshot-table needs { learner, k, entropy, mrr } rows';
      }
      return undefined;
    default:
      return `unknown training event type ${describeValue(event.type)}`;
  }
}

function invalidGraph(graph: unknown): string | undefined {
  const nodes = isRecord(graph) ? itemsOf(graph.nodes) : undefined;
  const edges = isRecord(graph) ? itemsOf(graph.edges) : undefined;
  if (nodes === undefined || edges === undefined) return 'a graph needs nodes and edges';
  const paths = new Set<string>();
  for (const node of nodes) {
    if (!isRecord(node) || typeof node.path !== 'string' || !isFiniteNumber(node.tokens) || node.tokens < 0 || !Number.isInteger(node.community)) {
      return 'every node needs a path, tokens ≥ 0 and an integer community';
    }
    if ((node.lossBefore !== undefined && !isFiniteNumber(node.lossBefore)) || (node.lossAfter !== undefined && !isFiniteNumber(node.lossAfter))) {
      return `node ${describeValue(node.path)} has a loss that is not a finite number`;
    }
    if (paths.has(node.path)) return `node ${describeValue(node.path)} appears twice`;
    paths.add(node.path);
  }
  for (const edge of edges) {
    if (!isRecord(edge) || typeof edge.source !== 'string' || typeof edge.target !== 'string' || !isFiniteNumber(edge.weight)) {
      return 'every edge needs source, target and weight';
    }
    if (!paths.has(edge.source) || !paths.has(edge.target)) return `edge ${describeValue(edge.source)} → ${describeValue(edge.target)} names a missing node`;
  }
  return undefined;
}

function invalidCurvePoints(points: unknown): string | undefined {
  if (!isRecord(points) || !isNumberArray(points.x) || !isNumberArray(points.y) || points.x.length !== points.y.length) {
    return 'curve points need x and y columns of equal length';
  }
  return undefined;
}

function invalidAdaptation(adaptation: unknown): string | undefined {
  const curves = isRecord(adaptation) ? itemsOf(adaptation.curves) : undefined;
  if (!isRecord(adaptation) || typeof adaptation.task !== 'string' || curves === undefined) return 'an adaptation needs a task and curves';
  for (const curve of curves) {
    if (!isRecord(curve) || !isLearner(curve.learner) || !isNumberArray(curve.queryLoss)) return 'every adaptation curve needs a learner and finite query losses';
  }
  if (adaptation.baseline !== undefined && !isNumberArray(adaptation.baseline)) return 'an adaptation baseline must be finite numbers';
  return undefined;
}

function invalidState(state: unknown): string | undefined {
  if (!isRecord(state)) return 'a snapshot needs a state';
  const graphProblem = invalidGraph(state.graph);
  if (graphProblem !== undefined) return graphProblem;
  const training = state.training;
  if (
    !isRecord(training) ||
    !(TRAINING_PHASES as readonly unknown[]).includes(training.phase) ||
    !isLearner(training.learner) ||
    !isNonNegativeInteger(training.step) ||
    !isNonNegativeInteger(training.totalSteps) ||
    typeof training.backend !== 'string'
  ) {
    return 'the training state needs a phase, learner, step, totalSteps and backend';
  }
  const controlsProblem = invalidControls(state.controls);
  if (controlsProblem !== undefined) return controlsProblem;
  if (state.selectedTask !== undefined && typeof state.selectedTask !== 'string') return 'selectedTask must be a path';
  const curves = state.curves;
  const outerLoss = isRecord(curves) ? itemsOf(curves.outerLoss) : undefined;
  if (!isRecord(curves) || outerLoss === undefined || !Array.isArray(curves.fewShot)) return 'the curves need outerLoss and fewShot';
  for (const series of outerLoss) {
    if (!isRecord(series) || !isLearner(series.learner)) return 'every outer-loss curve needs a learner';
    const problem = invalidCurvePoints(series.points);
    if (problem !== undefined) return problem;
  }
  if (curves.adaptation !== undefined) {
    const problem = invalidAdaptation(curves.adaptation);
    if (problem !== undefined) return problem;
  }
  if (curves.online !== undefined) {
    if (!isRecord(curves.online) || typeof curves.online.task !== 'string') return 'the online curve needs a task';
    const problem = invalidCurvePoints(curves.online.points);
    if (problem !== undefined) return problem;
  }
  return invalidTrainingEvent({ type: 'fewshot-table', rows: curves.fewShot });
}

function invalidChange(change: unknown): string | undefined {
  if (!isRecord(change)) return 'a delta needs a change';
  switch (change.kind) {
    case 'training':
      return invalidTrainingEvent(change.event);
    case 'graph':
      return invalidGraph(change.graph);
    case 'controls':
      return invalidControls(change.controls);
    case 'selection':
      if (typeof change.task !== 'string') return 'a selection needs a task path';
      return change.adaptation === undefined ? undefined : invalidAdaptation(change.adaptation);
    case 'backend':
      return typeof change.backend === 'string' ? undefined : 'a backend change needs a name';
    default:
      return `unknown change kind ${describeValue(change.kind)}`;
  }
}

function invalidVersion(message: Record<string, unknown>): string | undefined {
  return message.version === PANEL_PROTOCOL_VERSION
    ? undefined
    : `protocol version ${describeValue(message.version)} is not ${PANEL_PROTOCOL_VERSION}`;
}

/** Why `message` is not a valid host → webview message, or undefined when it is. */
export function invalidHostToPanelMessage(message: unknown): string | undefined {
  if (!isRecord(message)) return 'a message must be an object';
  const versionProblem = invalidVersion(message);
  if (versionProblem !== undefined) return versionProblem;
  switch (message.type) {
    case 'panel/snapshot':
      if (!isNonNegativeInteger(message.seq)) return 'panel/snapshot needs a whole seq';
      return invalidState(message.state);
    case 'panel/delta':
      if (!isNonNegativeInteger(message.seq)) return 'panel/delta needs a whole seq';
      return invalidChange(message.change);
    case 'panel/notice':
      if ((message.level !== 'info' && message.level !== 'error') || typeof message.text !== 'string') {
        return 'panel/notice needs a level (info or error) and text';
      }
      return undefined;
    default:
      return `unknown message type ${describeValue(message.type)}`;
  }
}

/** Why `command` is not a valid panel command, or undefined when it is. */
export function invalidPanelCommand(command: unknown): string | undefined {
  if (!isRecord(command)) return 'a command must be an object';
  switch (command.kind) {
    case 'start':
    case 'pause':
      return undefined;
    case 'setLearner':
      return isLearner(command.learner) ? undefined : `learner ${describeValue(command.learner)} is not one of ${LEARNER_NAMES.join(', ')}`;
    case 'setAlpha':
      return prefixed('α', invalidWeight(command.value));
    case 'setBeta':
      return prefixed('β', invalidWeight(command.value));
    case 'setInnerLr':
      return prefixed('the inner learning rate', invalidInnerLr(command.value));
    case 'setInnerSteps':
      return prefixed('the inner steps', invalidInnerSteps(command.value));
    case 'setSupport':
      return isSupport(command.support) ? undefined : `support ${describeValue(command.support)} is not one of ${SUPPORT_KINDS.join(', ')}`;
    case 'selectTask':
      return typeof command.path === 'string' && command.path.length > 0 ? undefined : 'selectTask needs a path';
    case 'exportCsv':
      return typeof command.chart === 'string' && typeof command.csv === 'string' ? undefined : 'exportCsv needs a chart name and CSV text';
    case 'exportPng':
      return typeof command.chart === 'string' && typeof command.dataUrl === 'string' && PNG_DATA_URL.test(command.dataUrl)
        ? undefined
        : 'exportPng needs a chart name and a base64 PNG data URL';
    default:
      return `unknown command ${describeValue(command.kind)}`;
  }
}

/** Why `message` is not a valid webview → host message, or undefined when it is. */
export function invalidPanelToHostMessage(message: unknown): string | undefined {
  if (!isRecord(message)) return 'a message must be an object';
  const versionProblem = invalidVersion(message);
  if (versionProblem !== undefined) return versionProblem;
  switch (message.type) {
    case 'panel/ready':
      return undefined;
    case 'panel/resync':
      return isNonNegativeInteger(message.lastSeq) ? undefined : 'panel/resync needs the last seq applied';
    case 'panel/command':
      return invalidPanelCommand(message.command);
    default:
      return `unknown message type ${describeValue(message.type)}`;
  }
}

// --- what a change does ---------------------------------------------------------------

function appendPoint(points: CurvePoints, x: number, y: number): void {
  points.x.push(x);
  points.y.push(y);
  if (points.x.length > MAX_CURVE_POINTS) {
    // Keep the newest point and every other older one: the whole run stays visible at half the density.
    const keep = (_: number, index: number, all: number[]): boolean => index % 2 === 0 || index === all.length - 1;
    points.x = points.x.filter(keep);
    points.y = points.y.filter(keep);
  }
}

function emptyPoints(): CurvePoints {
  return { x: [], y: [] };
}

/** Puts `curve` (one learner's) into `adaptation`, replacing that learner's earlier curve. */
export function mergeAdaptationCurve(
  adaptation: TaskAdaptation | undefined,
  event: Extract<TrainingEvent, { type: 'adaptation-curve' }>,
): TaskAdaptation {
  const merged: TaskAdaptation = adaptation?.task === event.task ? adaptation : { task: event.task, curves: [] };
  const others = merged.curves.filter((curve) => curve.learner !== event.learner);
  merged.curves = [...others, { learner: event.learner, queryLoss: [...event.queryLoss] }];
  if (event.baseline !== undefined) merged.baseline = [...event.baseline];
  return merged;
}

/**
 * Applies one change to `state` in place. The host's store and the webview
 * both call this, so a webview that applied deltas 1..n holds the host's
 * state at n. Semantics worth knowing:
 * - an outer step not after the learner's last one starts that learner's curve over (a new run);
 * - an online loss for another file starts the online curve over;
 * - an adaptation curve for a task other than the selected one is dropped here
 *   (the host keeps it and sends it with a `selection` change); with no task
 *   selected, the first curve selects its task.
 */
export function applyPanelChange(state: PanelState, change: PanelChange): void {
  switch (change.kind) {
    case 'graph':
      state.graph = change.graph;
      return;
    case 'controls':
      state.controls = { ...change.controls };
      return;
    case 'backend':
      state.training.backend = change.backend;
      return;
    case 'selection':
      state.selectedTask = change.task;
      state.curves.adaptation = change.adaptation;
      return;
    case 'training':
      applyTrainingEvent(state, change.event);
      return;
  }
}

function applyTrainingEvent(state: PanelState, event: TrainingEvent): void {
  switch (event.type) {
    case 'training-state':
      state.training = {
        ...state.training,
        phase: event.phase,
        learner: event.learner,
        step: event.step,
        totalSteps: event.totalSteps,
        message: event.message,
      };
      return;
    case 'pretrain-epoch':
      state.training.pretrain = { epoch: event.epoch, epochs: event.epochs, loss: event.loss };
      return;
    case 'outer-step': {
      let series = state.curves.outerLoss.find((candidate) => candidate.learner === event.learner);
      if (series === undefined) {
        series = { learner: event.learner, points: emptyPoints() };
        state.curves.outerLoss.push(series);
      }
      const last = series.points.x[series.points.x.length - 1];
      if (last !== undefined && event.step <= last) series.points = emptyPoints();
      appendPoint(series.points, event.step, event.metaLoss);
      return;
    }
    case 'adaptation-curve':
      if (state.selectedTask === undefined) state.selectedTask = event.task;
      if (state.selectedTask !== event.task) return;
      state.curves.adaptation = mergeAdaptationCurve(state.curves.adaptation, event);
      return;
    case 'task-losses': {
      const byTask = new Map(event.losses.map((loss) => [loss.task, loss]));
      for (const node of state.graph.nodes) {
        const loss = byTask.get(node.path);
        if (loss === undefined) continue;
        node.lossBefore = loss.before;
        node.lossAfter = loss.after;
      }
      return;
    }
    case 'online-loss': {
      if (state.curves.online === undefined || state.curves.online.task !== event.task) {
        state.curves.online = { task: event.task, points: emptyPoints() };
      }
      const points = state.curves.online.points;
      const typedBefore = points.x[points.x.length - 1] ?? 0;
      appendPoint(points, typedBefore + event.tokens, event.loss);
      return;
    }
    case 'fewshot-table':
      state.curves.fewShot = event.rows.map((row) => ({ ...row }));
      return;
  }
}

/** A deep copy that shares nothing with `state` (what a snapshot message carries). */
export function clonePanelState(state: PanelState): PanelState {
  return structuredClone(state);
}
