import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import type { Indexer } from './indexer';
import type { Logger } from './logger';

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
    vscode.commands.registerCommand('metacomplete.indexWorkspace', () =>
      indexWithProgress(indexer, logger, 'MetaComplete: indexing the workspace'),
    ),
    // The restart fires onDidRestart, which re-indexes with progress.
    vscode.commands.registerCommand('metacomplete.resetModel', () => engine.reset()),
  ];
}
