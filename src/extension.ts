import * as vscode from 'vscode';
import { indexWithProgress, registerCommands, registerTrainingCommands } from './host/commands';
import { CompletionProviders } from './host/completionProviders';
import { Config } from './host/config';
import { EngineHost } from './host/engineHost';
import { Indexer } from './host/indexer';
import { Logger } from './host/logger';
import { PanelStateStore } from './host/panel/panelStateStore';
import { connectTrainingEvents, registerTrainingPanel } from './host/panel/trainingPanel';
import { StatusBar } from './host/statusBar';
import { TrainingController, panelControlsOf } from './host/training';
import type { LoadedModelInfo } from './protocol/engineProtocol';
import type { TrainingEvent } from './protocol/trainingEvents';

/** Kept for `deactivate`, which saves the index before the subscriptions are disposed. */
let activeEngine: EngineHost | undefined;

/** Builds the services and registers them; the worker does the heavy work, started in the background. */
export function activate(context: vscode.ExtensionContext): void {
  const logger = new Logger();
  const config = new Config();
  const status = new StatusBar();
  // Saved state is local files; a workspace storage on another file system (web) is not used.
  const storageDir = context.storageUri?.scheme === 'file' ? context.storageUri.fsPath : undefined;
  const engine = new EngineHost(context.asAbsolutePath('dist/worker.js'), logger, storageDir);
  activeEngine = engine;
  const indexer = new Indexer(engine, config, logger, status);
  const training = new TrainingController(engine, { settings: () => config.training, modelPath: () => engine.modelPath, log: logger });
  // The training panel's state outlives the panel; it is fed the controller's events (the worker's and the host's).
  const panelStore = new PanelStateStore(panelControlsOf(config.training));
  const trainingEvents = new vscode.EventEmitter<TrainingEvent>();
  const showBackend = (info: LoadedModelInfo | undefined): void => {
    status.setBackend(info?.backend ?? '');
    if (info !== undefined && info.backend !== '') panelStore.setBackend(info.backend);
  };
  context.subscriptions.push(
    trainingEvents,
    engine.onTrainingEvent((event) => training.handleEvent(event)),
    { dispose: subscribe(training.onEvent((event) => trainingEvents.fire(event))) },
    { dispose: subscribe(training.onDidChange((view) => status.setTraining(view))) },
    {
      dispose: subscribe(
        training.onDidChange((view) => {
          if (view.phase !== 'done') return;
          // The worker uses the new model at once; its stats name the backend it runs on.
          engine.request({ type: 'engine/stats' }).then(
            (stats) => showBackend(stats.model),
            (error: Error) => logger.warn(`Could not read the trained model's backend: ${error.message}`),
          );
        }),
      ),
    },
    config.onDidChange(() => {
      const controls = panelControlsOf(config.training, panelStore.controls.support);
      if (JSON.stringify(controls) !== JSON.stringify(panelStore.controls)) panelStore.setControls(controls);
    }),
    connectTrainingEvents(panelStore, trainingEvents.event, logger),
    ...registerTrainingCommands(training, engine, indexer, logger),
  );
  context.subscriptions.push(
    logger,
    config,
    status,
    engine,
    indexer,
    new CompletionProviders(engine, indexer, config, logger),
    ...registerCommands(engine, indexer, logger),
    engine.onDidRestart((cause) => {
      indexer.clearLearned();
      const title = cause === 'reset' ? 'MetaComplete: model reset, re-indexing' : 'MetaComplete: engine restarted, re-indexing';
      // After a crash the saved index and model bring the new worker back; a reset starts from nothing.
      void (async () => {
        if (cause === 'crash') await restoreSavedIndex(engine, indexer, logger);
        await indexWithProgress(indexer, logger, title);
        await engine.saveIndex();
        // A reset worker holds no model until one is trained or imported.
        showBackend(cause === 'crash' ? await engine.loadStoredModel() : undefined);
      })();
    }),
    engine.onDidFail((message) => status.setError(message)),
  );
  context.subscriptions.push(
    ...registerTrainingPanel(context, {
      store: panelStore,
      handler: training.panelHandler((changes) => config.updateTraining(changes)),
      log: logger,
      loadGraph: () => engine.request({ type: 'taskGraph/snapshot' }),
    }),
  );
  logger.info(`MetaComplete ${String(context.extension.packageJSON.version)} activated.`);
  try {
    engine.start();
  } catch (error) {
    const message = `MetaComplete could not start its engine: ${(error as Error).message}.`;
    logger.error(message);
    status.setError(message);
    return;
  }
  void (async () => {
    await restoreSavedIndex(engine, indexer, logger);
    try {
      await indexer.indexWorkspace();
    } catch (error) {
      logger.error(`Indexing failed: ${(error as Error).message}.`);
      status.setError('Indexing failed.');
      return;
    }
    await engine.saveIndex();
    showBackend(await engine.loadStoredModel());
  })();
}

/** An unsubscribe function as a disposable's body (the controller is vscode-free). */
function subscribe(unsubscribe: () => unknown): () => void {
  return () => void unsubscribe();
}

/** Learns the index saved by the last session, so that indexing re-reads only files changed since. */
async function restoreSavedIndex(engine: EngineHost, indexer: Indexer, logger: Logger): Promise<void> {
  try {
    const restored = await engine.restoreIndex();
    if (restored !== undefined) indexer.adoptRestored(restored);
  } catch (error) {
    logger.warn(`The saved index could not be restored: ${(error as Error).message}; indexing in full.`);
  }
}

export async function deactivate(): Promise<void> {
  // Resources are owned by context.subscriptions, which VS Code disposes after this returns.
  const engine = activeEngine;
  activeEngine = undefined;
  await engine?.saveIndex();
}
