import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { clampTrainingOverrides } from '../core/experiment/settingRanges';
import type { TrainSettings } from '../core/experiment/train';
import type { CorpusFile } from '../core/text/corpus';
import type { StartTrainingRequest, TrainingStatus } from '../protocol/engineProtocol';
import type { LearnerName, TrainingEvent } from '../protocol/trainingEvents';
import type { TrainingControlMessage, TrainingRun, TrainingThreadMessage } from './trainingThread';

interface Run {
  learner: LearnerName;
  /** The thread training this run. */
  thread: Worker | undefined;
  cancelled: boolean;
  paused: boolean;
  /** Outer steps the thread has reported. */
  steps: number;
  /** Ends the run as cancelled and stops its thread, whatever the thread is doing. */
  stop?: () => void;
}

/**
 * How long a cancelled run's thread has to end by itself before it is
 * stopped: its phases yield every second or so, and a thread stuck in one
 * step must not keep its memory, or the worker waiting, for ever.
 */
export const CANCEL_DEADLINE_MS = 5_000;

/**
 * Meta-training in the background, on a thread of its own (trainingThread.ts):
 * `start` answers at once, completions in this worker never wait for a
 * training step, and the thread's memory goes back when the run ends.
 * Progress leaves through `emit`; the finished model is written to the
 * requested path by the thread, then loaded here by `adopt`.
 */
export class TrainingService {
  private run: Run | undefined;

  constructor(
    private readonly files: () => CorpusFile[],
    private readonly emit: (event: TrainingEvent) => void,
    private readonly adopt: (path: string) => Promise<unknown>,
    private readonly wasmDir = join(__dirname, 'wasm'),
    private readonly threadScript = join(__dirname, 'trainingThread.js'),
    private readonly cancelDeadlineMs = CANCEL_DEADLINE_MS,
  ) {}

  status(): TrainingStatus {
    const run = this.run;
    if (run === undefined) return { state: 'idle' };
    const state = run.cancelled ? 'cancelling' : run.paused ? 'paused' : 'running';
    return { state, learner: run.learner };
  }

  start(request: StartTrainingRequest): TrainingStatus {
    if (this.run !== undefined) {
      throw new Error(`Training (${this.run.learner}) is already ${this.run.paused ? 'paused' : 'running'}; resume or cancel it first.`);
    }
    const files = this.files();
    if (files.length < 2) throw new Error('Index at least two source files before training: every file is a task.');
    const run: Run = { learner: request.learner, thread: undefined, cancelled: false, paused: false, steps: 0 };
    this.run = run;
    void this.train(run, request, files).finally(() => {
      if (this.run === run) this.run = undefined;
    });
    return this.status();
  }

  pause(): TrainingStatus {
    const run = this.run;
    if (run !== undefined && !run.paused && !run.cancelled) {
      run.paused = true;
      this.tell(run, { kind: 'pause' });
      this.emit({ type: 'training-state', phase: 'paused', learner: run.learner, step: 0, totalSteps: 0 });
    }
    return this.status();
  }

  resume(): TrainingStatus {
    const run = this.run;
    if (run !== undefined && run.paused) {
      run.paused = false;
      this.tell(run, { kind: 'resume' });
    }
    return this.status();
  }

  cancel(): TrainingStatus {
    const run = this.run;
    if (run !== undefined) {
      if (!run.cancelled) setTimeout(() => run.stop?.(), this.cancelDeadlineMs).unref();
      run.cancelled = true;
      run.paused = false;
      this.tell(run, { kind: 'cancel' });
    }
    return this.status();
  }

  private tell(run: Run, message: TrainingControlMessage): void {
    run.thread?.postMessage(message);
  }

  private async train(run: Run, request: StartTrainingRequest, files: CorpusFile[]): Promise<void> {
    const learner = run.learner;
    try {
      const { DEFAULT_TRAIN_SETTINGS } = await import('../core/experiment/train');
      const settings: TrainSettings = { ...DEFAULT_TRAIN_SETTINGS, ...clampTrainingOverrides(request.overrides) };
      settings.support = request.support ?? 'prefix';
      const job: TrainingRun = { files, learner, settings, modelPath: request.modelPath, wasmDir: this.wasmDir };
      const outcome = await this.runThread(run, job);
      if (outcome.kind === 'cancelled') {
        this.emit({ type: 'training-state', phase: 'cancelled', learner, step: outcome.steps, totalSteps: settings.outerSteps });
        return;
      }
      if (outcome.kind === 'failed') throw new Error(outcome.message);
      await this.adopt(request.modelPath);
      this.emit({
        type: 'training-state',
        phase: 'done',
        learner,
        step: outcome.steps,
        totalSteps: settings.outerSteps,
        message: `model saved (${outcome.files} files, ${outcome.wallSeconds} s, ${outcome.backend})`,
      });
    } catch (error) {
      this.emit({ type: 'training-state', phase: 'error', learner, step: 0, totalSteps: 0, message: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Runs the job on a new thread, forwarding its progress; resolves with how it ended (a thread that dies is a failure). */
  private runThread(run: Run, job: TrainingRun): Promise<Exclude<TrainingThreadMessage, { kind: 'event' }>> {
    return new Promise((resolve) => {
      const thread = new Worker(this.threadScript, { workerData: job });
      run.thread = thread;
      if (run.cancelled) thread.postMessage({ kind: 'cancel' } satisfies TrainingControlMessage);
      else if (run.paused) thread.postMessage({ kind: 'pause' } satisfies TrainingControlMessage);
      let ended = false;
      const end = (outcome: Exclude<TrainingThreadMessage, { kind: 'event' }>) => {
        if (ended) return;
        ended = true;
        run.thread = undefined;
        run.stop = undefined;
        void thread.terminate();
        resolve(outcome);
      };
      run.stop = () => end({ kind: 'cancelled', steps: run.steps });
      thread.on('message', (message: TrainingThreadMessage) => {
        if (message.kind === 'event') {
          if (message.event.type === 'outer-step') run.steps = message.event.step;
          // The thread may still report a step it was in when paused; the paused state stands.
          if (!(run.paused && message.event.type === 'training-state' && message.event.phase !== 'paused')) this.emit(message.event);
        } else end(message);
      });
      thread.on('error', (error) => end({ kind: 'failed', message: `the training thread failed: ${error.message}` }));
      thread.on('exit', (code) => end({ kind: 'failed', message: `the training thread stopped (exit code ${code}) before it finished` }));
    });
  }
}
