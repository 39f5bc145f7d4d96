import { Worker } from 'node:worker_threads';
import { ENGINE_PROTOCOL_VERSION, parseEventEnvelope, parseResponseEnvelope } from '../protocol/engineProtocol';
import type { EngineRequest, EngineResults } from '../protocol/engineProtocol';
import type { TrainingEvent } from '../protocol/trainingEvents';

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * The caller's side of the engine worker: typed requests in, promises out.
 * When the worker dies every pending request is rejected with the reason,
 * so a caller never waits forever.
 */
export class EngineClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exitReason: string | undefined;
  /** Training progress the worker sends unasked. */
  onEvent: ((event: TrainingEvent) => void) | undefined;
  /** Called once if the worker stops on its own (crash or exit), not after `dispose`. */
  onExit: ((reason: string) => void) | undefined;
  private disposed = false;

  constructor(workerScript: string) {
    this.worker = new Worker(workerScript);
    this.worker.on('message', (message: unknown) => this.settle(message));
    this.worker.on('error', (error) => this.fail(`engine worker failed: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`engine worker exited with code ${code}`));
  }

  request<T extends EngineRequest>(request: T): Promise<EngineResults[T['type']]> {
    if (this.exitReason !== undefined) return Promise.reject(new Error(this.exitReason));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject });
      this.worker.postMessage({ version: ENGINE_PROTOCOL_VERSION, id, request });
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.worker.terminate();
  }

  private settle(message: unknown): void {
    let response;
    try {
      const event = parseEventEnvelope(message);
      if (event !== undefined) {
        this.onEvent?.(event.event);
        return;
      }
      response = parseResponseEnvelope(message);
    } catch (error) {
      this.fail(`engine worker sent a malformed response: ${(error as Error).message}`);
      void this.worker.terminate();
      return;
    }
    const pending = this.pending.get(response.id);
    if (pending === undefined) return;
    this.pending.delete(response.id);
    if (response.ok) pending.resolve(response.result);
    else pending.reject(new Error(response.error));
  }

  private fail(reason: string): void {
    if (this.exitReason !== undefined) return;
    this.exitReason = reason;
    for (const pending of this.pending.values()) pending.reject(new Error(reason));
    this.pending.clear();
    if (!this.disposed) this.onExit?.(reason);
  }
}
