import { Worker } from 'node:worker_threads';
import { ENGINE_PROTOCOL_VERSION, UNQUEUED_TYPES, parseEventEnvelope, parseResponseEnvelope } from '../protocol/engineProtocol';
import type { EngineRequest, EngineResults } from '../protocol/engineProtocol';
import type { TrainingEvent } from '../protocol/trainingEvents';

/**
 * How long the worker may take to answer each kind of request, in ms, counted
 * from when it can start on it (see `EngineClient`). Generous: a deadline
 * exists to catch a worker that is stuck, never to cut short one that is slow.
 */
export interface RequestDeadlines {
  /** Suggestions at the cursor: milliseconds of work. */
  completion: number;
  /** Ghost text: a beam search of up to 64 neural steps. */
  continuation: number;
  /** Stats, forgetting files, and training control (start answers at once; the run reports by events). */
  quick: number;
  /** Learning a files/update batch: this plus `perMegabyte` for each MB of it. */
  update: number;
  perMegabyte: number;
  /** Work on the whole workspace: saving or restoring the index, loading a model (the first also starts TensorFlow.js), the task graph. */
  wholeWorkspace: number;
  /** Adapting the model to a file: this plus `perMegabyte` for each MB of its text. */
  adapt: number;
}

export const DEFAULT_DEADLINES: RequestDeadlines = {
  completion: 10_000,
  continuation: 30_000,
  quick: 30_000,
  update: 60_000,
  perMegabyte: 30_000,
  wholeWorkspace: 180_000,
  adapt: 120_000,
};

const MEGABYTE = 1024 * 1024;

/** The deadline of one request, scaled by the bytes it carries where its work grows with them. */
export function deadlineOf(request: EngineRequest, deadlines: RequestDeadlines = DEFAULT_DEADLINES): number {
  switch (request.type) {
    case 'completion/complete':
      return deadlines.completion;
    case 'completion/continue':
      return deadlines.continuation;
    case 'files/update': {
      const bytes = request.files.reduce((sum, file) => sum + file.bytes.length, 0);
      return deadlines.update + Math.ceil((bytes / MEGABYTE) * deadlines.perMegabyte);
    }
    case 'model/adapt':
      return deadlines.adapt + Math.ceil((request.text.length / MEGABYTE) * deadlines.perMegabyte);
    case 'engine/save':
    case 'engine/restore':
    case 'model/load':
    case 'taskGraph/snapshot':
      return deadlines.wholeWorkspace;
    case 'files/remove':
    case 'engine/stats':
    case 'training/start':
    case 'training/pause':
    case 'training/resume':
    case 'training/cancel':
    default:
      // Any other type is refused by the worker at once.
      return deadlines.quick;
  }
}

function durationText(milliseconds: number): string {
  return milliseconds < 1000 ? `${milliseconds} ms` : `${Math.round(milliseconds / 1000)} s`;
}

interface Pending {
  type: EngineRequest['type'];
  /** Milliseconds the worker has for it once it can start on it. */
  budget: number;
  /** Armed once every request the worker handles before it has been answered. */
  timer: NodeJS.Timeout | undefined;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * The caller's side of the engine worker: typed requests in, promises out.
 * When the worker dies every pending request is rejected with the reason,
 * so a caller never waits forever; a worker that misses a request's deadline
 * is ended and reported the same way (`onExit`).
 *
 * The worker answers requests one at a time, in order, except that a save
 * frees the queue as soon as it has copied the state, and completions do not
 * queue at all (see `UNQUEUED_TYPES`). So a request's clock
 * starts when the requests before it that hold the queue have been answered:
 * a completion queued behind a large batch is not blamed for the batch's time.
 */
export class EngineClient {
  private readonly worker: Worker;
  /** In the order they were sent (a Map keeps insertion order). */
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exitReason: string | undefined;
  /** Training progress the worker sends unasked. */
  onEvent: ((event: TrainingEvent) => void) | undefined;
  /** Called once if the worker stops on its own (crash, exit or a missed deadline), not after `dispose`. */
  onExit: ((reason: string) => void) | undefined;
  private disposed = false;

  constructor(workerScript: string, private readonly deadlines: RequestDeadlines = DEFAULT_DEADLINES) {
    this.worker = new Worker(workerScript);
    this.worker.on('message', (message: unknown) => this.settle(message));
    this.worker.on('error', (error) => this.fail(`engine worker failed: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`engine worker exited with code ${code}`));
  }

  request<T extends EngineRequest>(request: T): Promise<EngineResults[T['type']]> {
    if (this.exitReason !== undefined) return Promise.reject(new Error(this.exitReason));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const budget = deadlineOf(request, this.deadlines);
      this.pending.set(id, { type: request.type, budget, timer: undefined, resolve: resolve as (result: unknown) => void, reject });
      this.worker.postMessage({ version: ENGINE_PROTOCOL_VERSION, id, request });
      this.armDeadlines();
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.clearDeadlines();
    await this.worker.terminate();
  }

  /**
   * Starts the clock of every request the worker can be working on now:
   * completions (they do not queue), saves in progress and the first request
   * that holds the queue.
   */
  private armDeadlines(): void {
    let queueHeld = false;
    for (const [id, entry] of this.pending) {
      const unqueued = UNQUEUED_TYPES.has(entry.type);
      if (entry.timer === undefined && (unqueued || !queueHeld)) {
        entry.timer = setTimeout(() => this.missDeadline(id), entry.budget);
        // A pending request must not keep a finished program alive.
        entry.timer.unref();
      }
      if (!unqueued && entry.type !== 'engine/save') queueHeld = true;
    }
  }

  private clearDeadlines(): void {
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
  }

  private missDeadline(id: number): void {
    const entry = this.pending.get(id);
    if (entry === undefined || this.exitReason !== undefined) return;
    this.fail(`engine worker did not answer ${entry.type} within ${durationText(entry.budget)} and was stopped`);
    void this.worker.terminate();
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
    clearTimeout(pending.timer);
    this.pending.delete(response.id);
    this.armDeadlines();
    if (response.ok) pending.resolve(response.result);
    else pending.reject(new Error(response.error));
  }

  private fail(reason: string): void {
    if (this.exitReason !== undefined) return;
    this.exitReason = reason;
    this.clearDeadlines();
    for (const pending of this.pending.values()) pending.reject(new Error(reason));
    this.pending.clear();
    if (!this.disposed) this.onExit?.(reason);
  }
}
