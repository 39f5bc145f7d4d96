import * as vscode from 'vscode';
import { indexWithProgress, registerCommands } from './host/commands';
import { CompletionProviders } from './host/completionProviders';
import { Config } from './host/config';
import { EngineHost } from './host/engineHost';
import { Indexer } from './host/indexer';
import { Logger } from './host/logger';
import { StatusBar } from './host/statusBar';

/** Builds the services and registers them; the worker does the heavy work, started in the background. */
export function activate(context: vscode.ExtensionContext): void {
  const logger = new Logger();
  const config = new Config();
  const status = new StatusBar();
  const engine = new EngineHost(context.asAbsolutePath('dist/worker.js'), logger);
  const indexer = new Indexer(engine, config, logger, status);
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
      void indexWithProgress(indexer, logger, title);
    }),
    engine.onDidFail((message) => status.setError(message)),
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
  indexer.indexWorkspace().catch((error: Error) => {
    logger.error(`Indexing failed: ${error.message}.`);
    status.setError('Indexing failed.');
  });
}

export function deactivate(): void {
  // Every resource is owned by context.subscriptions, which VS Code disposes.
}
