import * as vscode from 'vscode';
import { describeTraining, isTrainingRunning } from './training';
import type { TrainingView } from './training';

const SHOW_TRAINING_PANEL = 'metacomplete.showTrainingPanel';
const SHOW_LOG = 'metacomplete.showLog';
/** While indexing, a click cancels it: the one surface start-up indexing has. */
export const CANCEL_INDEXING = 'metacomplete.cancelIndexing';

type EngineState =
  | { kind: 'starting' }
  | { kind: 'indexing'; done: number; total: number }
  | { kind: 'ready'; files: number; note: string }
  | { kind: 'error'; message: string };

/**
 * The status bar item: indexing n/N, training with its step and meta-loss,
 * paused, ready, or error, with the numeric backend once known. Indexing and
 * training are kept apart, so that re-learning a saved file does not hide a
 * run and a run's end brings back what the index holds. Clicking it opens
 * the training panel (the log when no panel command is registered).
 */
export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('metacomplete.status', vscode.StatusBarAlignment.Right, 100);
  private engine: EngineState = { kind: 'starting' };
  private training: TrainingView | undefined;
  private backend: string | undefined;
  private clickTarget = 'the log';
  private clickCommand = SHOW_LOG;

  constructor() {
    this.item.name = 'MetaComplete';
    this.render();
    this.item.show();
    void this.pickClickCommand();
  }

  setStarting(): void {
    this.engine = { kind: 'starting' };
    this.render();
  }

  setIndexing(done: number, total: number): void {
    this.engine = { kind: 'indexing', done, total };
    this.render();
  }

  setReady(files: number, note = ''): void {
    this.engine = { kind: 'ready', files, note };
    this.render();
  }

  setError(message: string): void {
    this.engine = { kind: 'error', message };
    this.render();
  }

  /** The training status after each event; a new run clears the last run's error. */
  setTraining(view: TrainingView): void {
    this.training = view;
    this.render();
  }

  /** The numeric backend of the trained model (tensorflow, wasm or cpu). */
  setBackend(backend: string): void {
    this.backend = backend === '' ? undefined : backend;
    this.render();
  }

  dispose(): void {
    this.item.dispose();
  }

  private async pickClickCommand(): Promise<void> {
    // The panel registers its command during activation, possibly after this item exists.
    let commands: string[];
    try {
      commands = await vscode.commands.getCommands(true);
    } catch {
      return;
    }
    if (!commands.includes(SHOW_TRAINING_PANEL)) return;
    this.clickCommand = SHOW_TRAINING_PANEL;
    this.clickTarget = 'the training panel';
    this.render();
  }

  private render(): void {
    const backend = this.backend === undefined ? '' : ` · ${this.backend}`;
    const backendNote = this.backend === undefined ? '' : ` The trained model runs on the ${this.backend} backend.`;
    const click = ` Click to open ${this.clickTarget}.`;
    const engine = this.engine;
    const training = this.training;
    this.item.command = engine.kind === 'indexing' ? CANCEL_INDEXING : this.clickCommand;
    if (engine.kind === 'error') {
      this.set('MetaComplete: error', `${engine.message}${click}`, 'statusBarItem.errorBackground');
    } else if (engine.kind === 'indexing') {
      this.set(`$(sync~spin) MetaComplete: indexing ${engine.done}/${engine.total}`, 'MetaComplete is learning the workspace. Click to cancel indexing; what is learned so far is kept.');
    } else if (engine.kind === 'starting') {
      this.set('MetaComplete: starting', 'MetaComplete is starting its engine.');
    } else if (training !== undefined && isTrainingRunning(training.phase)) {
      this.set(`$(sync~spin) MetaComplete: ${trainingText(training)}`, `MetaComplete is ${describeTraining(training)}.${click}`);
    } else if (training?.phase === 'paused') {
      this.set(
        `$(debug-pause) MetaComplete: paused${training.totalSteps > 0 ? ` ${training.step}/${training.totalSteps}` : ''}`,
        `Training is ${describeTraining(training)}; run "MetaComplete: Start/Resume Meta-Training" to go on.${click}`,
      );
    } else if (training?.phase === 'error') {
      this.set(
        '$(error) MetaComplete: training failed',
        `Training ${describeTraining(training)}. Completions still come from the n-gram model and the last trained model.${click}`,
        'statusBarItem.errorBackground',
      );
    } else {
      const last = training === undefined || training.phase === 'idle' ? '' : ` Last training run: ${describeTraining(training)}.`;
      this.set(
        `MetaComplete: ready (${engine.files} files)${backend}`,
        `MetaComplete learned ${engine.files} files${engine.note}.${backendNote}${last}${click}`,
      );
    }
  }

  private set(text: string, tooltip: string, background?: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = background === undefined ? undefined : new vscode.ThemeColor(background);
  }
}

/** Short enough for the status bar: the phase, "step s/N" and the last meta-loss. */
function trainingText(view: TrainingView): string {
  switch (view.phase) {
    case 'preparing':
      return 'preparing training';
    case 'pretraining':
      return `pre-training ${view.step}/${view.totalSteps}`;
    case 'meta-training':
      return `training step ${view.step}/${view.totalSteps}${view.lastLoss === undefined ? '' : ` · loss ${view.lastLoss.toFixed(2)}`}`;
    case 'fitting-gate':
      return 'fitting the gate';
    default:
      return view.phase;
  }
}
