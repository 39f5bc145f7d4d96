import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import { MODEL_FILE_EXTENSION, secretFreeCheckpoint } from '../core/persist/modelFormat';
import { MAX_STATE_FILE_BYTES, StateFileError, readStateFileBytes, writeStateFileAtomic } from '../core/persist/stateFile';
import type { EngineHost } from './engineHost';
import type { Indexer } from './indexer';
import type { Logger } from './logger';
import { CANCEL_INDEXING } from './statusBar';
import { describeTraining, trainingProgressPercent } from './training';
import type { StartOutcome, TrainingController, TrainingView } from './training';

/** Runs a full index with a cancellable notification; failures are logged and shown, never thrown. */
export async function indexWithProgress(indexer: Indexer, logger: Logger, title: string): Promise<void> {
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      try {
        await indexer.indexWorkspace(progress, token);
      } catch (error) {
        const message = `MetaComplete could not index the workspace: ${(error as Error).message}; see "MetaComplete: Show Log".`;
        logger.error(message);
        void vscode.window.showErrorMessage(message);
      }
    },
  );
}

/** The palette commands that work today; each registration is returned for context.subscriptions. */
export function registerCommands(engine: EngineHost, indexer: Indexer, logger: Logger): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('metacomplete.showLog', () => logger.show()),
    vscode.commands.registerCommand('metacomplete.indexWorkspace', async () => {
      await indexWithProgress(indexer, logger, 'MetaComplete: indexing the workspace');
      await engine.saveIndex();
    }),
    // Whoever started the run (start-up, Index Workspace, a restart) saves what it learned once it stops.
    vscode.commands.registerCommand(CANCEL_INDEXING, () => {
      if (!indexer.cancel()) void vscode.window.showInformationMessage('MetaComplete: no indexing is running.');
    }),
    vscode.commands.registerCommand('metacomplete.exportModel', () => exportModel(engine, logger)),
    vscode.commands.registerCommand('metacomplete.importModel', () => importModel(engine, logger)),
    // The restart fires onDidRestart, which re-indexes with progress.
    vscode.commands.registerCommand('metacomplete.resetModel', () => engine.reset()),
    // Internal, for the end-to-end suites (the leading underscore keeps it out of the palette and getCommands).
    vscode.commands.registerCommand('_metacomplete.killWorker', () => engine.killWorker()),
  ];
}

/** Start/Resume Meta-Training, Pause Training and Adapt to Current File; each registration is returned for context.subscriptions. */
export function registerTrainingCommands(training: TrainingController, engine: EngineHost, indexer: Indexer, logger: Logger): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('metacomplete.startTraining', () => startTraining(training, logger)),
    vscode.commands.registerCommand('metacomplete.pauseTraining', () => pauseTraining(training, logger)),
    vscode.commands.registerCommand('metacomplete.adaptToCurrentFile', () => adaptToCurrentFile(engine, indexer, logger)),
  ];
}

/**
 * Starts (or resumes) meta-training and follows it in a cancellable
 * notification until the run is done, fails, is cancelled or paused; then
 * says how it ended.
 */
async function startTraining(training: TrainingController, logger: Logger): Promise<void> {
  let outcome: StartOutcome;
  try {
    outcome = await training.start();
  } catch (error) {
    const message = `MetaComplete could not start training: ${(error as Error).message}`;
    logger.error(message);
    void vscode.window.showErrorMessage(message);
    return;
  }
  if (outcome === 'already-running') logger.info('Start/Resume Meta-Training: training is already running; following it.');
  const title = outcome === 'resumed' ? 'MetaComplete: meta-training (resumed)' : 'MetaComplete: meta-training';
  const ended = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      let shown = 0;
      const report = (view: TrainingView): void => {
        const percent = trainingProgressPercent(view);
        const increment = percent === undefined || percent <= shown ? undefined : percent - shown;
        if (increment !== undefined) shown = percent ?? shown;
        progress.report({ message: describeTraining(view), increment });
      };
      report(training.status);
      const unsubscribe = training.onDidChange(report);
      const cancellation = token.onCancellationRequested(() => {
        logger.info('Training: cancel requested from the progress notification.');
        training.cancel().catch((error: Error) => logger.warn(`Training could not be cancelled: ${error.message}`));
      });
      try {
        return await training.whenStopped();
      } finally {
        unsubscribe();
        cancellation.dispose();
      }
    },
  );
  const summary = describeTraining(ended);
  switch (ended.phase) {
    case 'done':
      void vscode.window.showInformationMessage(`MetaComplete: training ${summary}.`);
      return;
    case 'paused':
      void vscode.window.showInformationMessage('MetaComplete: training paused; run "MetaComplete: Start/Resume Meta-Training" to go on.');
      return;
    case 'cancelled':
      void vscode.window.showInformationMessage(`MetaComplete: training ${summary}; the previous model, if any, stays in use.`);
      return;
    default:
      void vscode.window.showErrorMessage(`MetaComplete: training ${summary.replace(/\.$/, '')}. See "MetaComplete: Show Log".`);
  }
}

async function pauseTraining(training: TrainingController, logger: Logger): Promise<void> {
  try {
    await training.pause();
    logger.info('Pause Training: training pauses after the step under way.');
  } catch (error) {
    logger.info(`Pause Training: ${(error as Error).message}`);
    void vscode.window.showInformationMessage(`MetaComplete: ${(error as Error).message}`);
  }
}

/** Adapts the trained model to the active editor's text, in the worker, and says what it gained. */
async function adaptToCurrentFile(engine: EngineHost, indexer: Indexer, logger: Logger): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  if (document === undefined) {
    void vscode.window.showInformationMessage('MetaComplete adapts to the file in the active editor: open a file, then run "Adapt to Current File" again.');
    return;
  }
  const name = vscode.workspace.asRelativePath(document.uri);
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: `MetaComplete: adapting to ${name}` },
      () => engine.request({ type: 'model/adapt', path: indexer.pathOf(document.uri, document.languageId), text: document.getText() }),
    );
    const message = `Adapted to ${name} in ${result.k} steps: loss ${result.lossBefore.toFixed(3)} → ${result.lossAfter.toFixed(3)} nats/token (${result.milliseconds} ms).`;
    logger.info(`${message} (${result.learner}, ${result.tokens} tokens)`);
    void vscode.window.showInformationMessage(`MetaComplete: ${message}`);
  } catch (error) {
    const why = (error as Error).message;
    logger.error(`Adapt to Current File (${name}) failed: ${why}`);
    void vscode.window.showErrorMessage(`MetaComplete could not adapt to ${name}: ${why}`);
  }
}

const NO_MODEL = 'No trained model yet: run MetaComplete: Start/Resume Meta-Training first.';
const MODEL_FILTERS = { 'MetaComplete model': [MODEL_FILE_EXTENSION] };

/** Copies the trained model in workspace storage to a file the user picks, atomically when it is a local file. */
async function exportModel(engine: EngineHost, logger: Logger): Promise<void> {
  const source = engine.modelPath;
  if (source === undefined || !(await isFile(source))) {
    void vscode.window.showInformationMessage(NO_MODEL);
    return;
  }
  const target = await vscode.window.showSaveDialog({
    title: 'Export MetaComplete Model',
    saveLabel: 'Export',
    filters: MODEL_FILTERS,
    defaultUri: vscode.workspace.workspaceFolders?.[0]
      ? vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, `${vscode.workspace.name ?? 'workspace'}.${MODEL_FILE_EXTENSION}`)
      : undefined,
  });
  if (target === undefined) return;
  try {
    // Never hand a teammate a file their MetaComplete would refuse, nor a secret an older version learned.
    const { bytes, redacted } = secretFreeCheckpoint(await readStateFileBytes(source));
    await writeModelFile(target, bytes);
    logger.info(`Exported the trained model to ${target.toString(true)}${redactedNote(redacted)}.`);
    void vscode.window.showInformationMessage(`MetaComplete: model exported to ${target.scheme === 'file' ? target.fsPath : target.toString(true)}.`);
  } catch (error) {
    const why = error instanceof StateFileError ? `the stored model is unreadable (${error.reason}); retrain or import a model` : (error as Error).message;
    logger.error(`Export Model failed: ${why}.`);
    void vscode.window.showErrorMessage(`MetaComplete could not export the model: ${why}.`);
  }
}

/**
 * Replaces the trained model by a file the user picks: it is validated in
 * full first, so a bad file leaves the current model untouched; then written
 * atomically into workspace storage and loaded by the worker.
 */
async function importModel(engine: EngineHost, logger: Logger): Promise<void> {
  const target = engine.modelPath;
  if (target === undefined) {
    void vscode.window.showErrorMessage('MetaComplete keeps a model per workspace: open a folder, then import the model again.');
    return;
  }
  const picked = await vscode.window.showOpenDialog({
    title: 'Import MetaComplete Model',
    openLabel: 'Import',
    canSelectMany: false,
    filters: MODEL_FILTERS,
  });
  const source = picked?.[0];
  if (source === undefined) return;
  const name = basename(source.path);
  let bytes: Uint8Array;
  let learner: string;
  let classes: number;
  let redacted: number;
  try {
    const checked = secretFreeCheckpoint(await readModelFile(source));
    bytes = checked.bytes;
    redacted = checked.redacted;
    learner = checked.contents.header.learner;
    classes = checked.contents.header.config.vocabSize;
  } catch (error) {
    const why = error instanceof StateFileError ? error.reason : (error as Error).message;
    logger.error(`Import Model: ${source.toString(true)} was refused: ${why}.`);
    void vscode.window.showErrorMessage(`MetaComplete cannot import ${name}: ${why}. The current model is unchanged.`);
    return;
  }
  try {
    await mkdir(dirname(target), { recursive: true });
    await writeStateFileAtomic(target, bytes);
  } catch (error) {
    logger.error(`Import Model: could not write ${target}: ${(error as Error).message}.`);
    void vscode.window.showErrorMessage(`MetaComplete could not store the imported model (${(error as Error).message}). The current model is unchanged.`);
    return;
  }
  logger.info(`Imported a ${learner} model (${classes} classes) from ${source.toString(true)}${redactedNote(redacted)}.`);
  try {
    await engine.request({ type: 'model/load', path: target });
    void vscode.window.showInformationMessage(`MetaComplete: imported the ${learner} model from ${name}.`);
  } catch (error) {
    logger.error(`The engine could not load the imported model: ${(error as Error).message}`);
    void vscode.window.showErrorMessage(
      `MetaComplete stored the model from ${name} but its engine could not load it (${(error as Error).message}); see "MetaComplete: Show Log".`,
    );
  }
}

/** For the log: how many class tokens were secrets and so were not kept (never the tokens themselves). */
function redactedNote(redacted: number): string {
  return redacted === 0 ? '' : `; ${redacted} class token${redacted === 1 ? '' : 's'} that looked like secrets were replaced by placeholders`;
}

/**
 * The picked file's bytes, refused before reading when it is not a regular
 * file or is over the state-file limit: the file is parsed on this thread,
 * so a device, a FIFO or a huge file must never reach the parser.
 */
async function readModelFile(source: vscode.Uri): Promise<Uint8Array> {
  if (source.scheme === 'file') return readStateFileBytes(source.fsPath);
  // Other file systems have no handle to check: their stat, then their read.
  const stats = await vscode.workspace.fs.stat(source);
  if ((stats.type & vscode.FileType.File) === 0) throw new StateFileError('not-a-file');
  if (stats.size > MAX_STATE_FILE_BYTES) throw new StateFileError('too-large', `${stats.size} bytes`);
  return vscode.workspace.fs.readFile(source);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A local target is replaced atomically; other file systems get VS Code's own write. */
async function writeModelFile(target: vscode.Uri, bytes: Uint8Array): Promise<void> {
  if (target.scheme === 'file') await writeStateFileAtomic(target.fsPath, bytes);
  else await vscode.workspace.fs.writeFile(target, bytes);
}
