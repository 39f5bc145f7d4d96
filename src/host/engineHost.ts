import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { MODEL_FILE_EXTENSION } from '../core/persist/modelFormat';
import { removeStaleTemporaries } from '../core/persist/stateFile';
import type { EngineRequest, EngineResults, LoadedModelInfo } from '../protocol/engineProtocol';
import type { TrainingEvent } from '../protocol/trainingEvents';
import { DEFAULT_DEADLINES, EngineClient } from '../worker/engineClient';
import type { RequestDeadlines } from '../worker/engineClient';
import type { Logger } from './logger';
import { RestartPolicy } from './restartPolicy';
import { isTrainingUnderWay } from './training';

/** Incremental updates are saved this long after the last one; a full index is saved when it ends. */
const SAVE_DELAY_MS = 30_000;
const INDEX_FILE = 'index.mcstate';
const MODEL_FILE = `model.${MODEL_FILE_EXTENSION}`;
/** Failed loads in a row after which the stored model is set aside: one more than a transient failure needs. */
const MAX_MODEL_LOAD_ATTEMPTS = 2;

/** Tells one model file from the one that replaced it (retrained or imported). */
interface ModelIdentity {
  size: number;
  mtimeMs: number;
}

/**
 * Owns the engine worker: starts it, restarts it after a crash (telling the
 * user once) or on Reset Model, and tells the indexer when a fresh, empty
 * worker needs the workspace again.
 */
export class EngineHost implements vscode.Disposable {
  private client: EngineClient | undefined;
  private readonly restarted = new vscode.EventEmitter<'crash' | 'reset'>();
  /** Fires after a new, empty worker replaced the old one. */
  readonly onDidRestart = this.restarted.event;
  private readonly failed = new vscode.EventEmitter<string>();
  /** Fires when the worker keeps crashing and the host gave up restarting it. */
  readonly onDidFail = this.failed.event;
  private readonly trainingEvents = new vscode.EventEmitter<TrainingEvent>();
  /**
   * Training progress from whichever worker is current. A run dies with its
   * worker: a crash or a reset during training fires one last 'error' or
   * 'cancelled' state, and the new worker does not resume it.
   */
  readonly onTrainingEvent = this.trainingEvents.event;
  /** The last training state seen, to know whether a stopping worker takes a run with it. */
  private trainingState: Extract<TrainingEvent, { type: 'training-state' }> | undefined;
  private readonly policy = new RestartPolicy();
  /** Files learned or forgotten since the index was last saved. */
  private unsaved = false;
  private saveTimer: NodeJS.Timeout | undefined;
  /** Whether the user was told that the index could not be saved (once per window). */
  private toldSaveFailure = false;
  private saving: Promise<void> = Promise.resolve();

  /**
   * @param storageDir The workspace storage folder (`context.storageUri`); without one (no folder
   *   open) nothing is saved or restored.
   * @param deadlines How long the worker has for each request before it is handled as crashed.
   */
  constructor(
    private readonly workerScript: string,
    private readonly logger: Logger,
    private readonly storageDir?: string,
    private readonly deadlines: RequestDeadlines = DEFAULT_DEADLINES,
  ) {}

  /** Where the engine's index is saved, if there is a workspace storage folder. */
  get indexPath(): string | undefined {
    return this.storageDir === undefined ? undefined : join(this.storageDir, INDEX_FILE);
  }

  /** Where the trained model lives (training writes it, Import Model replaces it). */
  get modelPath(): string | undefined {
    return this.storageDir === undefined ? undefined : join(this.storageDir, MODEL_FILE);
  }

  /**
   * Starts the worker, and clears the storage folder of temporaries left by
   * saves that never finished (a worker or window that died mid-write).
   * The worker serves at once; the promise says when the folder is clean.
   */
  start(): Promise<void> {
    this.client = this.createClient();
    return this.removeStaleTemporaries();
  }

  private async removeStaleTemporaries(): Promise<void> {
    if (this.storageDir === undefined) return;
    const removed = await removeStaleTemporaries(this.storageDir);
    if (removed.length > 0) this.logger.info(`Removed ${removed.length} temporary files left by saves that did not finish: ${removed.join(', ')}.`);
  }

  get isRunning(): boolean {
    return this.client !== undefined;
  }

  /** Sends a request to the current worker; rejects when there is none or it dies meanwhile. */
  request<T extends EngineRequest>(request: T): Promise<EngineResults[T['type']]> {
    if (this.client === undefined) return Promise.reject(new Error('the MetaComplete engine is not running'));
    if (request.type === 'files/update' || request.type === 'files/remove') this.scheduleSave();
    const client = this.client;
    const answer = client.request(request);
    if (request.type === 'training/start') {
      // The run exists from this answer on, before its first event: a crash now must still end it.
      const learner = request.learner;
      answer.then(
        () => {
          if (client === this.client && !isTrainingUnderWay(this.trainingState?.phase ?? 'idle')) {
            this.trainingState = { type: 'training-state', phase: 'preparing', learner, step: 0, totalSteps: 0 };
          }
        },
        () => undefined,
      );
    }
    return answer;
  }

  /**
   * Learns the saved index into the (empty) worker. Returns the files it
   * holds with their stamps, or undefined when there is nothing usable: a
   * corrupt or outdated file is logged and reported once, and the caller
   * indexes in full.
   */
  async restoreIndex(): Promise<{ path: string; stamp?: string }[] | undefined> {
    const path = this.indexPath;
    if (path === undefined) return undefined;
    const result = await this.request({ type: 'engine/restore', path });
    if (result.restored) {
      this.logger.info(`Restored the saved index: ${result.files.length} files, ${result.tokens} tokens in ${result.milliseconds} ms.`);
      return result.files;
    }
    if (result.missing) {
      this.logger.info('No saved index yet; indexing the workspace in full.');
      return undefined;
    }
    this.logger.warn(`The saved index ${path} was unreadable (${result.reason}); rebuilding it.`);
    void vscode.window.showInformationMessage(`MetaComplete: saved index was unreadable (${result.reason}); rebuilding`);
    return undefined;
  }

  /** Saves the index now if anything changed since the last save; failures are logged, never thrown. */
  saveIndex(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    // One save at a time, in order: a later save always writes the later state.
    this.saving = this.saving.then(() => this.writeIndex());
    return this.saving;
  }

  /**
   * Hands the worker the model checkpoint in workspace storage, if there is
   * one. A model that failed to load MAX_MODEL_LOAD_ATTEMPTS times in a row
   * (refused, or the worker crashed or stopped answering on it) is renamed
   * aside and the user told, rather than tried again at every start. The
   * attempt is counted before the load, so one that takes the whole window
   * down counts too.
   */
  async loadStoredModel(): Promise<LoadedModelInfo | undefined> {
    const path = this.modelPath;
    if (path === undefined || this.client === undefined) return undefined;
    const stats = await stat(path).catch(() => undefined);
    if (stats === undefined) return undefined;
    const identity = { size: stats.size, mtimeMs: stats.mtimeMs };
    const earlier = await this.failedModelLoads(identity);
    if (earlier >= MAX_MODEL_LOAD_ATTEMPTS) {
      await this.setModelAside(path, `its last ${earlier} loads failed`);
      return undefined;
    }
    await this.writeModelLoads({ ...identity, attempts: earlier + 1 });
    try {
      const info = await this.request({ type: 'model/load', path });
      await rm(this.modelAttemptsPath(path), { force: true });
      this.logger.info(`Loaded the trained model (${info.learner}, ${info.vocabSize} classes, ${info.backend} backend).`);
      return info;
    } catch (error) {
      const reason = (error as Error).message;
      if (earlier + 1 >= MAX_MODEL_LOAD_ATTEMPTS) {
        await this.setModelAside(path, reason);
        return undefined;
      }
      this.logger.warn(`The trained model ${path} could not be loaded: ${reason}`);
      void vscode.window.showWarningMessage(
        `MetaComplete: the trained model could not be loaded (${reason}); completions use the n-gram model until it is retrained or imported.`,
      );
      return undefined;
    }
  }

  /** Where the failed loads of the stored model are counted, beside it. */
  private modelAttemptsPath(modelPath: string): string {
    return join(dirname(modelPath), `.${basename(modelPath)}.load-attempts`);
  }

  /** Loads of this very file (same size and time) that did not succeed; another file starts from none. */
  private async failedModelLoads(identity: ModelIdentity): Promise<number> {
    const path = this.modelPath;
    if (path === undefined) return 0;
    try {
      const record: unknown = JSON.parse(await readFile(this.modelAttemptsPath(path), 'utf8'));
      const { size, mtimeMs, attempts } = (record ?? {}) as Partial<ModelIdentity & { attempts: number }>;
      return size === identity.size && mtimeMs === identity.mtimeMs && Number.isInteger(attempts) ? (attempts as number) : 0;
    } catch {
      return 0;
    }
  }

  private async writeModelLoads(record: ModelIdentity & { attempts: number }): Promise<void> {
    const path = this.modelPath;
    if (path === undefined) return;
    await writeFile(this.modelAttemptsPath(path), JSON.stringify(record)).catch((error: Error) =>
      this.logger.warn(`Could not count the model's load attempts: ${error.message}.`),
    );
  }

  /** Renames the stored model to `<name>.rejected-<time>` beside it and tells the user why and what to do. */
  private async setModelAside(path: string, reason: string): Promise<void> {
    const aside = `${path}.rejected-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    try {
      await rename(path, aside);
      await rm(this.modelAttemptsPath(path), { force: true });
    } catch (error) {
      this.logger.error(`The trained model ${path} keeps failing to load (${reason}) and could not be set aside: ${(error as Error).message}.`);
      return;
    }
    this.logger.error(`The trained model ${path} kept failing to load (${reason}); it was renamed to ${aside}.`);
    void vscode.window.showWarningMessage(
      `MetaComplete: the trained model kept failing to load (${reason}), so it was set aside as ${basename(aside)}; retrain it or import another model.`,
    );
  }

  private scheduleSave(): void {
    if (this.storageDir === undefined) return;
    this.unsaved = true;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.saveIndex(), SAVE_DELAY_MS);
    this.saveTimer.unref();
  }

  private async writeIndex(): Promise<void> {
    const path = this.indexPath;
    if (path === undefined || !this.unsaved || this.client === undefined) return;
    this.unsaved = false;
    try {
      const saved = await this.request({ type: 'engine/save', path });
      this.logger.info(`Saved the index (${saved.files} files, ${Math.ceil(saved.bytes / 1024)} KB) in ${saved.milliseconds} ms.`);
    } catch (error) {
      this.unsaved = true;
      const reason = (error as Error).message;
      this.logger.warn(`Could not save the index to ${path}: ${reason}.`);
      // Said once: the save is retried after later updates, and a window that may not save keeps working.
      if (!this.toldSaveFailure) {
        this.toldSaveFailure = true;
        void vscode.window.showWarningMessage(`MetaComplete could not save its index: ${reason}.`);
      }
    }
  }

  /** Replaces the worker by an empty one (Reset Model). */
  async reset(): Promise<void> {
    const old = this.client;
    this.policy.reset();
    // A reset model must not come back from the saved index on the next reload.
    clearTimeout(this.saveTimer);
    const index = this.indexPath;
    if (index !== undefined) await rm(index, { force: true }).catch(() => undefined);
    this.client = this.createClient();
    await old?.dispose();
    this.endTraining('cancelled', 'Reset Model stopped the engine; start training again to train a new model');
    this.logger.info('Engine worker restarted empty (Reset Model).');
    this.restarted.fire('reset');
  }

  /**
   * Ends the worker and handles it as a crash: same restart, same one-time
   * notice. Only for the internal `_metacomplete.killWorker` command the
   * end-to-end suites use.
   */
  async killWorker(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    await client.dispose();
    this.onCrash(client, 'killed by _metacomplete.killWorker');
  }

  dispose(): void {
    clearTimeout(this.saveTimer);
    const old = this.client;
    this.client = undefined;
    void old?.dispose();
    this.restarted.dispose();
    this.failed.dispose();
    this.trainingEvents.dispose();
  }

  private createClient(): EngineClient {
    const client = new EngineClient(this.workerScript, this.deadlines);
    client.onExit = (reason) => this.onCrash(client, reason);
    client.onEvent = (event) => {
      // A worker that was replaced may still flush an event or two; they describe a run that no longer exists.
      if (client !== this.client) return;
      if (event.type === 'training-state') this.trainingState = event;
      this.trainingEvents.fire(event);
    };
    return client;
  }

  /** Reports the run the old worker took with it, if there was one. */
  private endTraining(phase: 'error' | 'cancelled', message: string): void {
    const last = this.trainingState;
    if (last === undefined || !isTrainingUnderWay(last.phase)) return;
    const event: TrainingEvent = { type: 'training-state', phase, learner: last.learner, step: last.step, totalSteps: last.totalSteps, message };
    this.trainingState = event;
    this.trainingEvents.fire(event);
  }

  private onCrash(client: EngineClient, reason: string): void {
    if (client !== this.client) return;
    this.logger.error(`The engine worker stopped: ${reason}.`);
    this.endTraining('error', `the engine worker stopped during training (${reason}); run "MetaComplete: Start/Resume Meta-Training" to train again`);
    const decision = this.policy.onCrash(Date.now());
    if (!decision.restart) {
      this.client = undefined;
      const message = `MetaComplete's engine crashed or stopped answering ${decision.recentCrashes} times in a minute and was not restarted; run "MetaComplete: Reset Model" to try again.`;
      this.logger.error(message);
      void vscode.window.showErrorMessage(message);
      this.failed.fire(message);
      return;
    }
    this.client = this.createClient();
    this.logger.info('Engine worker restarted; re-indexing the workspace.');
    if (decision.warnUser) {
      void vscode.window.showWarningMessage(
        `MetaComplete's engine stopped (${reason}); it restarted and is re-learning the workspace, see "MetaComplete: Show Log".`,
      );
    }
    this.restarted.fire('crash');
  }
}
