// One meta-training run, on a thread of its own: the engine worker starts it
// (see TrainingService) so that completions never wait for a training step,
// and its memory (TensorFlow.js's heap for training) is given back when the
// run ends. It trains, writes the checkpoint and says how it went.
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../core/backend/backend';
import { DEFAULT_FEWSHOT_OPTIONS } from '../core/experiment/fewshot';
import { disposeTrainedModel } from '../core/experiment/model';
import { trainModel } from '../core/experiment/pipeline';
import type { TrainSettings } from '../core/experiment/train';
import { saveModelCheckpoint } from '../core/persist/modelCheckpoint';
import type { CorpusFile } from '../core/text/corpus';
import type { LearnerName, TrainingEvent } from '../protocol/trainingEvents';

/** What the engine worker gives the thread when it starts it. */
export interface TrainingRun {
  files: CorpusFile[];
  learner: LearnerName;
  settings: TrainSettings;
  modelPath: string;
  wasmDir: string;
}

/** engine worker → training thread. */
export type TrainingControlMessage = { kind: 'pause' | 'resume' | 'cancel' };

/** training thread → engine worker: progress, then exactly one of saved, cancelled or failed. */
export type TrainingThreadMessage =
  | { kind: 'event'; event: TrainingEvent }
  | { kind: 'saved'; backend: string; steps: number; files: number; wallSeconds: number }
  | { kind: 'cancelled'; steps: number }
  | { kind: 'failed'; message: string };

async function run(port: NonNullable<typeof parentPort>, job: TrainingRun): Promise<void> {
  const send = (message: TrainingThreadMessage) => port.postMessage(message);
  const abort = new AbortController();
  let paused = false;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const waiting = waiters;
    waiters = [];
    for (const resolve of waiting) resolve();
  };
  port.on('message', (message: TrainingControlMessage) => {
    if (message.kind === 'pause') paused = true;
    else {
      paused = false;
      if (message.kind === 'cancel') abort.abort();
      wake();
    }
  });
  const control = {
    signal: abort.signal,
    whilePaused: () => (paused ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
  };
  const backend = await initBackend({ wasmDir: job.wasmDir, log: () => undefined });
  // The engine worker mixes with a graph-nested n-gram under confidence mixing, so the gate is fitted against that one
  // (which also spares this thread fitting the n-gram's level weights: a second n-gram and task graph in memory).
  const options = { ...DEFAULT_FEWSHOT_OPTIONS, settings: job.settings, learner: job.learner, ngram: { mixing: 'confidence' as const } };
  const result = await trainModel(job.files, options, (event) => send({ kind: 'event', event }), control);
  if (result.model === undefined) {
    send({ kind: 'cancelled', steps: result.metaLosses.length });
    return;
  }
  const model = result.model;
  try {
    model.provenance = { ...model.provenance, backend: backend.name };
    await saveModelCheckpoint(job.modelPath, model);
    send({
      kind: 'saved',
      backend: backend.name,
      steps: result.metaLosses.length,
      files: Number(model.provenance.files ?? 0),
      wallSeconds: Number(model.provenance.wallSeconds ?? 0),
    });
  } finally {
    disposeTrainedModel(model);
  }
}

if (parentPort === null) {
  process.stderr.write('metacomplete training thread: the engine worker starts this file; it is not a program.\n');
  process.exitCode = 2;
} else {
  const port = parentPort;
  run(port, workerData as TrainingRun).then(
    () => port.close(),
    (error: unknown) => {
      port.postMessage({ kind: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies TrainingThreadMessage);
      port.close();
    },
  );
}
