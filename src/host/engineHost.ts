import * as vscode from 'vscode';
import type { EngineRequest, EngineResults } from '../protocol/engineProtocol';
import { EngineClient } from '../worker/engineClient';
import type { Logger } from './logger';
import { RestartPolicy } from './restartPolicy';

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
  private readonly policy = new RestartPolicy();

  constructor(private readonly workerScript: string, private readonly logger: Logger) {}

  start(): void {
    this.client = this.createClient();
  }

  get isRunning(): boolean {
    return this.client !== undefined;
  }

  /** Sends a request to the current worker; rejects when there is none or it dies meanwhile. */
  request<T extends EngineRequest>(request: T): Promise<EngineResults[T['type']]> {
    if (this.client === undefined) return Promise.reject(new Error('the MetaComplete engine is not running'));
    return this.client.request(request);
  }

  /** Replaces the worker by an empty one (Reset Model). */
  async reset(): Promise<void> {
    const old = this.client;
    this.policy.reset();
    this.client = this.createClient();
    await old?.dispose();
    this.logger.info('Engine worker restarted empty (Reset Model).');
    this.restarted.fire('reset');
  }

  dispose(): void {
    const old = this.client;
    this.client = undefined;
    void old?.dispose();
    this.restarted.dispose();
    this.failed.dispose();
  }

  private createClient(): EngineClient {
    const client = new EngineClient(this.workerScript);
    client.onExit = (reason) => this.onCrash(client, reason);
    return client;
  }

  private onCrash(client: EngineClient, reason: string): void {
    if (client !== this.client) return;
    this.logger.error(`The engine worker stopped: ${reason}.`);
    const decision = this.policy.onCrash(Date.now());
    if (!decision.restart) {
      this.client = undefined;
      const message = `MetaComplete's engine crashed ${decision.recentCrashes} times in a minute and was not restarted; run "MetaComplete: Reset Model" to try again.`;
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
