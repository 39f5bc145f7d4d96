import * as vscode from 'vscode';
import { Logger } from './host/logger';

/** Builds the services and registers them; nothing heavy runs here. */
export function activate(context: vscode.ExtensionContext): void {
  const logger = new Logger();
  context.subscriptions.push(
    logger,
    vscode.commands.registerCommand('metacomplete.showLog', () => logger.show()),
  );
  logger.info(`MetaComplete ${String(context.extension.packageJSON.version)} activated.`);
}

export function deactivate(): void {
  // Every resource is owned by context.subscriptions, which VS Code disposes.
}
