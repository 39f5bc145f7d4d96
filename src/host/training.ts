// Meta-training as the host sees it: a pure reducer from the worker's
// training events to a status, and the controller behind the training
// commands and the panel's controls. No 'vscode' import, so mocha tests it
// as it is; commands.ts and extension.ts wire it to the workbench.
import { invalidTrainingEvent } from '../protocol/panelProtocol';
import type { PanelControls } from '../protocol/panelProtocol';
import type { EngineRequest, EngineResults, TrainingOverrides, TrainingStatus } from '../protocol/engineProtocol';
import type { LearnerName, SupportKind, TrainingEvent, TrainingPhase } from '../protocol/trainingEvents';
import type { PanelCommandHandler } from './panel/trainingPanel';
import type { TrainingSettings } from './settings';

/** Where training stands, folded from the events seen so far. */
export interface TrainingView {
  phase: TrainingPhase;
  /** The learner of the run (pre-training, which every learner shares, does not change it). */
  learner: LearnerName;
  /** Steps done and planned in the current phase; kept through a pause. */
  step: number;
  totalSteps: number;
  /** Meta-loss of the last outer step of this run, nats per token. */
  lastLoss?: number;
  /** Mean training loss of the last pre-training epoch of this run, nats per token. */
  pretrainLoss?: number;
  /** The phase a paused run goes back to on resume. */
  resumePhase?: TrainingPhase;
  /** The worker's text for the phase: the error for 'error', what was saved for 'done'. */
  message?: string;
}

export function idleTraining(learner: LearnerName): TrainingView {
  return { phase: 'idle', learner, step: 0, totalSteps: 0 };
}

const RUNNING_PHASES: readonly TrainingPhase[] = ['preparing', 'pretraining', 'meta-training', 'fitting-gate'];

/** The worker is computing: a run is under way and not paused. */
export function isTrainingRunning(phase: TrainingPhase): boolean {
  return RUNNING_PHASES.includes(phase);
}

/** A run exists in the worker (running or paused): a worker that dies now takes it with it. */
export function isTrainingUnderWay(phase: TrainingPhase): boolean {
  return phase === 'paused' || isTrainingRunning(phase);
}

/** The foreground part of a run is over: it finished, failed, was cancelled, or waits paused for the user. */
export function isTrainingStopped(phase: TrainingPhase): boolean {
  return !isTrainingRunning(phase);
}

/** Folds one training event into the view. Pure. */
export function reduceTraining(view: TrainingView, event: TrainingEvent): TrainingView {
  switch (event.type) {
    case 'training-state': {
      if (event.phase === 'paused') {
        // The worker's pause event carries no steps: the view keeps the ones of the phase it paused.
        return { ...view, phase: 'paused', resumePhase: isTrainingRunning(view.phase) ? view.phase : view.resumePhase, message: event.message };
      }
      if (view.phase === 'paused' && isTrainingRunning(event.phase)) {
        // The step under way when the pause came still reports; the run stays paused until resumed.
        return { ...view, resumePhase: event.phase, step: event.step, totalSteps: event.totalSteps };
      }
      const newRun = event.phase === 'preparing' && view.phase !== 'preparing';
      const next: TrainingView = {
        phase: event.phase,
        learner: event.phase === 'pretraining' ? view.learner : event.learner,
        step: event.step,
        totalSteps: event.totalSteps,
      };
      if (!newRun && view.lastLoss !== undefined) next.lastLoss = view.lastLoss;
      if (!newRun && view.pretrainLoss !== undefined) next.pretrainLoss = view.pretrainLoss;
      if (event.message !== undefined) next.message = event.message;
      return next;
    }
    case 'pretrain-epoch':
      return { ...view, pretrainLoss: event.loss };
    case 'outer-step':
      return { ...view, lastLoss: event.metaLoss };
    default:
      return view;
  }
}

function nats(loss: number): string {
  return loss.toFixed(3);
}

/** The worker's sentence without its final full stop, to sit inside ours. */
function clause(message: string): string {
  return message.trim().replace(/\.+$/, '');
}

/** One line for the status bar tooltip, the progress notification and the log. */
export function describeTraining(view: TrainingView): string {
  switch (view.phase) {
    case 'idle':
      return 'not trained in this session';
    case 'preparing':
      return 'preparing tasks from the indexed files';
    case 'pretraining': {
      const loss = view.pretrainLoss === undefined ? '' : `, loss ${nats(view.pretrainLoss)}`;
      return `pre-training, step ${view.step}/${view.totalSteps}${loss}`;
    }
    case 'meta-training': {
      const loss = view.lastLoss === undefined ? '' : `, meta-loss ${nats(view.lastLoss)}`;
      return `meta-training (${view.learner}), step ${view.step}/${view.totalSteps}${loss}`;
    }
    case 'fitting-gate':
      return 'fitting the neural / n-gram gate';
    case 'paused': {
      const where = view.resumePhase === 'meta-training' ? ` at meta-training step ${view.step}/${view.totalSteps}` : view.resumePhase === undefined ? '' : ` while ${view.resumePhase}`;
      return `paused${where}`;
    }
    case 'done': {
      const loss = view.lastLoss === undefined ? '' : `, final meta-loss ${nats(view.lastLoss)}`;
      return `done (${view.learner}${loss})${view.message === undefined ? '' : `: ${clause(view.message)}`}`;
    }
    case 'cancelled':
      return `cancelled${view.message === undefined ? '' : `: ${clause(view.message)}`}`;
    case 'error':
      return `failed: ${clause(view.message ?? 'the engine gave no reason')}`;
  }
}

/**
 * How far the run is, 0–100, for a progress bar: pre-training takes the
 * first third, meta-training most of the rest. Undefined when not running.
 */
export function trainingProgressPercent(view: TrainingView): number | undefined {
  const fraction = view.totalSteps > 0 ? Math.min(1, view.step / view.totalSteps) : 0;
  switch (view.phase) {
    case 'preparing':
      return 0;
    case 'pretraining':
      return 5 + 25 * fraction;
    case 'meta-training':
      return 30 + 65 * fraction;
    case 'fitting-gate':
      return 95;
    case 'done':
      return 100;
    default:
      return undefined;
  }
}

/** The training settings as the worker's overrides (everything but the learner). */
export function trainingOverrides(settings: TrainingSettings): TrainingOverrides {
  return {
    alpha: settings.alpha,
    beta: settings.beta,
    innerLr: settings.innerLr,
    innerSteps: settings.innerSteps,
    outerSteps: settings.outerSteps,
    pretrainEpochs: settings.pretrainEpochs,
    vocabSize: settings.vocabSize,
    hiddenSize: settings.hiddenSize,
    embeddingSize: settings.embeddingSize,
  };
}

/**
 * The settings of a run: the training settings and where each task's
 * support set comes from (`metacomplete.training.support`; 'prefix' when
 * the reader does not say).
 */
export type TrainingRunSettings = TrainingSettings & { support?: SupportKind };

/** The panel's controls that training settings hold. */
export function panelControlsOf(settings: TrainingRunSettings, support: PanelControls['support'] = settings.support ?? 'prefix'): PanelControls {
  return { learner: settings.learner, alpha: settings.alpha, beta: settings.beta, innerLr: settings.innerLr, innerSteps: settings.innerSteps, support };
}

/** The part of the engine the controller needs; EngineHost fits. */
export interface TrainingEngine {
  request<T extends EngineRequest>(request: T): Promise<EngineResults[T['type']]>;
}

export interface TrainingLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface TrainingControllerOptions {
  /** The settings a new run starts with, read when it starts. */
  settings(): TrainingRunSettings;
  /** Where the worker writes the trained model; undefined when there is no workspace storage. */
  modelPath(): string | undefined;
  log: TrainingLog;
}

/** What Start/Resume did. */
export type StartOutcome = 'started' | 'resumed' | 'already-running';

type Listener<T> = (value: T) => void;

/**
 * Starts, pauses, resumes and cancels meta-training in the worker and keeps
 * the status the status bar, the progress notification and the panel show.
 * Every event, the worker's (through `handleEvent`) and the ones the host
 * infers (a resume, which the worker does not announce), is folded into the
 * status and passed on to `onEvent` listeners.
 */
export class TrainingController {
  private view: TrainingView;
  private readonly viewListeners = new Set<Listener<TrainingView>>();
  private readonly eventListeners = new Set<Listener<TrainingEvent>>();

  constructor(
    private readonly engine: TrainingEngine,
    private readonly options: TrainingControllerOptions,
  ) {
    this.view = idleTraining(options.settings().learner);
  }

  get status(): TrainingView {
    return { ...this.view };
  }

  /** Calls `listener` with the new status after every event; returns the unsubscribe function. */
  onDidChange(listener: Listener<TrainingView>): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  /** Calls `listener` with every valid event folded in; returns the unsubscribe function. */
  onEvent(listener: Listener<TrainingEvent>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Folds an event from the worker in; a malformed one is logged and dropped. */
  handleEvent(event: TrainingEvent): void {
    const problem = invalidTrainingEvent(event);
    if (problem !== undefined) {
      this.options.log.warn(`Ignored a malformed training event: ${problem}.`);
      return;
    }
    this.publish(event, reduceTraining(this.view, event));
  }

  /**
   * Resumes a paused run, or starts one with the settings (and `changes`
   * over them, e.g. the panel's controls). Rejects with a sentence for the
   * user when the worker refuses (too few files, no workspace storage).
   */
  async start(changes: Partial<TrainingRunSettings> = {}): Promise<StartOutcome> {
    const modelPath = this.options.modelPath();
    if (modelPath === undefined) {
      throw new Error('MetaComplete keeps the trained model in the workspace storage: open a folder, then start training.');
    }
    const resumed = await this.engine.request({ type: 'training/resume' });
    if (resumed.state === 'cancelling') throw new Error('The last training run is still stopping: start training again in a moment.');
    if (resumed.state === 'running' || resumed.state === 'paused') {
      if (this.view.phase !== 'paused') return 'already-running';
      // The worker says nothing on resume; the host tells its listeners the run goes on.
      const { resumePhase, ...paused } = this.view;
      const phase = resumePhase ?? 'meta-training';
      this.options.log.info('Training resumed.');
      this.publish({ type: 'training-state', phase, learner: paused.learner, step: paused.step, totalSteps: paused.totalSteps }, { ...paused, phase });
      return 'resumed';
    }
    const settings = { ...this.options.settings(), ...changes };
    const overrides = trainingOverrides(settings);
    const support = settings.support ?? 'prefix';
    const status: TrainingStatus = await this.engine.request({ type: 'training/start', learner: settings.learner, modelPath, overrides, support });
    this.options.log.info(
      `Training started: ${settings.learner}, support sets from ${support === 'prefix' ? "each file's first part" : "each file's task-graph neighbours"}; pre-training epochs ${settings.pretrainEpochs}, outer steps ${settings.outerSteps}, inner steps ${settings.innerSteps} (inner lr ${settings.innerLr}, α ${settings.alpha}, β ${settings.beta}); ${settings.vocabSize} classes, hidden ${settings.hiddenSize}, embedding ${settings.embeddingSize}.`,
    );
    // The worker's own 'preparing' follows; until it does, the run is shown as starting rather than as the last one's end.
    if (!isTrainingRunning(this.view.phase)) {
      this.handleEvent({ type: 'training-state', phase: 'preparing', learner: status.learner ?? settings.learner, step: 0, totalSteps: 0 });
    }
    return 'started';
  }

  /** Pauses the running run; rejects when there is none. */
  async pause(): Promise<void> {
    const status = await this.engine.request({ type: 'training/pause' });
    if (status.state === 'idle') throw new Error('No training is running, so there is nothing to pause.');
    if (status.state === 'cancelling') throw new Error('Training is being cancelled, so it cannot be paused.');
  }

  /** Cancels the run (paused or running); the worker confirms with a 'cancelled' event. */
  async cancel(): Promise<void> {
    const status = await this.engine.request({ type: 'training/cancel' });
    if (status.state !== 'idle') this.options.log.info('Training: cancelling at the next step.');
  }

  /** Resolves with the status once the run is done, failed, cancelled or paused (at once if it is not running). */
  whenStopped(): Promise<TrainingView> {
    if (isTrainingStopped(this.view.phase)) return Promise.resolve(this.status);
    return new Promise((resolve) => {
      const unsubscribe = this.onDidChange((view) => {
        if (!isTrainingStopped(view.phase)) return;
        unsubscribe();
        resolve(view);
      });
    });
  }

  /** The handler behind the training panel's Start, Pause and controls. */
  panelHandler(saveSettings: (changes: Partial<TrainingRunSettings>) => Promise<void>): PanelCommandHandler {
    return {
      start: async (controls) => {
        await this.start(settingsOfControls(controls));
      },
      pause: () => this.pause(),
      applyControls: async (controls) => {
        await saveSettings(settingsOfControls(controls));
      },
    };
  }

  /** Makes `next` the status and tells the log and the listeners. */
  private publish(event: TrainingEvent, next: TrainingView): void {
    const before = this.view;
    this.view = next;
    this.logChange(before, event);
    for (const listener of this.eventListeners) listener(event);
    for (const listener of this.viewListeners) listener(this.status);
  }

  private logChange(before: TrainingView, event: TrainingEvent): void {
    const log = this.options.log;
    if (event.type === 'pretrain-epoch') {
      log.info(`Training: pre-training epoch ${event.epoch}/${event.epochs}, loss ${nats(event.loss)} nats/token.`);
    } else if (event.type === 'outer-step') {
      log.info(`Training: ${event.learner} outer step ${event.step}/${event.totalSteps}, meta-loss ${nats(event.metaLoss)} nats/token.`);
    } else if (event.type === 'training-state' && this.view.phase !== before.phase) {
      const line = `Training: ${describeTraining(this.view)}.`;
      if (this.view.phase === 'error') log.error(line);
      else log.info(line);
    }
  }
}

function settingsOfControls(controls: PanelControls): Partial<TrainingRunSettings> {
  return {
    learner: controls.learner,
    alpha: controls.alpha,
    beta: controls.beta,
    innerLr: controls.innerLr,
    innerSteps: controls.innerSteps,
    support: controls.support,
  };
}
