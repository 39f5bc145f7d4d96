import { join } from 'node:path';
import type { BackendChoice } from '../core/backend/backend';
import type { TrainedModel } from '../core/experiment/model';
import type { TrainSettings } from '../core/experiment/train';
import type { CorpusFile } from '../core/text/corpus';
import type { StartTrainingRequest, TrainingStatus } from '../protocol/engineProtocol';
import type { LearnerName, TrainingEvent } from '../protocol/trainingEvents';

interface Run {
  learner: LearnerName;
  abort: AbortController;
  paused: boolean;
  /** Resolved on resume (or cancel) to let a paused run go on. */
  waiters: (() => void)[];
}

/**
 * Meta-training inside the worker, in the background: `start` answers at
 * once and the run yields to the event loop between steps, so completion
 * requests are served while it trains. Progress leaves through `emit`;
 * the finished model is written to the requested path, then handed to
 * `adopt` (which owns it from then on).
 */
export class TrainingService {
  private run: Run | undefined;
  private backend: Promise<BackendChoice> | undefined;

  constructor(
    private readonly files: () => CorpusFile[],
    private readonly emit: (event: TrainingEvent) => void,
    private readonly adopt: (model: TrainedModel, path: string) => void,
    private readonly wasmDir = join(__dirname, 'wasm'),
  ) {}

  status(): TrainingStatus {
    const run = this.run;
    if (run === undefined) return { state: 'idle' };
    const state = run.abort.signal.aborted ? 'cancelling' : run.paused ? 'paused' : 'running';
    return { state, learner: run.learner };
  }

  start(request: StartTrainingRequest): TrainingStatus {
    if (this.run !== undefined) {
      throw new Error(`Training (${this.run.learner}) is already ${this.run.paused ? 'paused' : 'running'}; resume or cancel it first.`);
    }
    const files = this.files();
    if (files.length < 2) throw new Error('Index at least two source files before training: every file is a task.');
    const run: Run = { learner: request.learner, abort: new AbortController(), paused: false, waiters: [] };
    this.run = run;
    void this.train(run, request, files).finally(() => {
      if (this.run === run) this.run = undefined;
    });
    return this.status();
  }

  pause(): TrainingStatus {
    if (this.run !== undefined && !this.run.paused) {
      this.run.paused = true;
      this.emit({ type: 'training-state', phase: 'paused', learner: this.run.learner, step: 0, totalSteps: 0 });
    }
    return this.status();
  }

  resume(): TrainingStatus {
    const run = this.run;
    if (run !== undefined && run.paused) {
      run.paused = false;
      for (const wake of run.waiters.splice(0)) wake();
    }
    return this.status();
  }

  cancel(): TrainingStatus {
    const run = this.run;
    if (run !== undefined) {
      run.abort.abort();
      run.paused = false;
      for (const wake of run.waiters.splice(0)) wake();
    }
    return this.status();
  }

  private async train(run: Run, request: StartTrainingRequest, files: CorpusFile[]): Promise<void> {
    const learner = run.learner;
    try {
      // TensorFlow.js loads on first use: a worker that only serves n-gram completions starts without it.
      const [{ initBackend }, { DEFAULT_FEWSHOT_OPTIONS }, { DEFAULT_TRAIN_SETTINGS }, { trainModel }, { saveModelCheckpoint }, { disposeTrainedModel }] =
        await Promise.all([
          import('../core/backend/backend'),
          import('../core/experiment/fewshot'),
          import('../core/experiment/train'),
          import('../core/experiment/pipeline'),
          import('../core/persist/modelCheckpoint'),
          import('../core/experiment/model'),
        ]);
      this.backend ??= initBackend({ wasmDir: this.wasmDir, log: () => undefined });
      const backend = await this.backend;
      const settings: TrainSettings = { ...DEFAULT_TRAIN_SETTINGS, ...request.overrides };
      if (request.overrides.vocabSize !== undefined) settings.vocabSize = Math.max(2, Math.round(request.overrides.vocabSize));
      const control = {
        signal: run.abort.signal,
        whilePaused: () => (run.paused ? new Promise<void>((resolve) => run.waiters.push(resolve)) : Promise.resolve()),
      };
      const result = await trainModel(files, { ...DEFAULT_FEWSHOT_OPTIONS, settings, learner }, this.emit, control);
      if (result.model === undefined) {
        this.emit({ type: 'training-state', phase: 'cancelled', learner, step: result.metaLosses.length, totalSteps: settings.outerSteps });
        return;
      }
      const model = result.model;
      model.provenance = { ...model.provenance, backend: backend.name };
      try {
        await saveModelCheckpoint(request.modelPath, model);
      } catch (error) {
        disposeTrainedModel(model);
        throw error;
      }
      this.adopt(model, request.modelPath);
      this.emit({
        type: 'training-state',
        phase: 'done',
        learner,
        step: result.metaLosses.length,
        totalSteps: settings.outerSteps,
        message: `model saved (${model.provenance.files} files, ${model.provenance.wallSeconds} s, ${backend.name})`,
      });
    } catch (error) {
      this.emit({ type: 'training-state', phase: 'error', learner, step: 0, totalSteps: 0, message: error instanceof Error ? error.message : String(error) });
    }
  }
}
