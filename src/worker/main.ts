import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { BackendChoice } from '../core/backend/backend';
import { CompletionEngine } from '../core/engine/completionEngine';
import type { CompletionMixer, ContinuationMixerFactory, FileUpdate } from '../core/engine/completionEngine';
import { languageKindOf } from '../core/text/lexer';
import { secretFreeTokens } from '../core/text/secrets';
import { UNK_CLASS } from '../core/neural/batches';
import { SUPPORT_NEIGHBOURS } from '../core/experiment/train';
import { NeuralCompleter } from './neuralCompleter';
import { TrainingService } from './training';
import { disposeTrainedModel } from '../core/experiment/model';
import type { TrainedModel } from '../core/experiment/model';
import { loadEngineIndex, saveEngineIndex } from '../core/persist/engineIndexFile';
import { IndexLock, describeLockedIndex } from '../core/persist/indexLock';
import { StateFileError } from '../core/persist/stateFile';
import { ENGINE_PROTOCOL_VERSION, ProtocolError, UNQUEUED_TYPES, parseRequestEnvelope } from '../protocol/engineProtocol';
import type { EngineRequest, EngineResults, LoadedModelInfo, ResponseEnvelope, RestoreIndexResult, UpdateFilesRequest } from '../protocol/engineProtocol';

/** The engine lives here, off the extension host's thread; the host talks to it only through the protocol. */
const engine = new CompletionEngine();
/** The trained model from `model/load`; completions will use it once the neural path is wired. */
let model: { value: TrainedModel; info: LoadedModelInfo } | undefined;
let backend: Promise<BackendChoice> | undefined;

const training = new TrainingService(
  () => engine.trainingFiles().map((file) => ({ relPath: file.path, split: 'train' as const, tokens: file.tokens })),
  (event) => parentPort?.postMessage({ version: ENGINE_PROTOCOL_VERSION, event }),
  (path) => loadModel(path),
);

/** The neural side of completions, for the model in use. */
let neural: NeuralCompleter | undefined;
let neuralFailure: string | undefined;

/** Makes `trained` the model of completions, freeing the one before. */
function useModel(trained: TrainedModel, info: LoadedModelInfo): void {
  neural?.dispose();
  if (model !== undefined) disposeTrainedModel(model.value);
  model = { value: trained, info };
  // The classes' tokens join the vocabulary before any distribution is computed with them.
  engine.internTokens(trained.classTokens.filter((_, c) => c !== UNK_CLASS));
  neural = new NeuralCompleter(trained, (event) => parentPort?.postMessage({ version: ENGINE_PROTOCOL_VERSION, event }));
  neuralFailure = undefined;
}

/**
 * Runs a step of the neural side; on any failure the n-gram answers alone
 * from then on (undefined) and the reason is kept for stats.
 */
function guarded<T>(run: (completer: NeuralCompleter) => T): T | undefined {
  if (neural === undefined || neuralFailure !== undefined) return undefined;
  try {
    return run(neural);
  } catch (error) {
    neuralFailure = error instanceof Error ? error.message : String(error);
    return undefined;
  }
}

/** The neural mixture for a completion. */
const mixer: CompletionMixer = (path, tokens, ngram, vocabulary) => guarded((completer) => completer.mix(path, tokens, ngram, vocabulary));

/** The neural side of ghost text: a failure mid-search leaves the n-gram answering the rest. */
const continuationMixer: ContinuationMixerFactory = (path, tokens, vocabulary) => {
  const inner = guarded((completer) => completer.continuation(path, tokens, vocabulary));
  if (inner === undefined) return undefined;
  return {
    root: (ngram) => guarded(() => inner.root(ngram)),
    expand: (hypotheses, ngrams) => guarded(() => inner.expand(hypotheses, ngrams)) ?? hypotheses.map(() => undefined),
    dispose: () => inner.dispose(),
  };
};

/**
 * Learns a batch file by file and lets the requests that arrived meanwhile run
 * between two files: a suggest list asked for during indexing waits for the
 * file being learned, not for the rest of its batch.
 */
async function updateFiles(files: UpdateFilesRequest['files']): Promise<FileUpdate[]> {
  const updates: FileUpdate[] = [];
  for (const [index, file] of files.entries()) {
    if (index > 0) await new Promise((resolve) => setImmediate(resolve));
    updates.push(engine.updateFile(file.path, file.bytes, file.stamp));
  }
  return updates;
}

async function handle(request: EngineRequest): Promise<EngineResults[EngineRequest['type']]> {
  switch (request.type) {
    case 'training/start':
      return training.start(request);
    case 'training/pause':
      return training.pause();
    case 'training/resume':
      return training.resume();
    case 'training/cancel':
      return training.cancel();
    case 'files/update':
      return updateFiles(request.files);
    case 'files/remove':
      for (const path of request.paths) neural?.forget(path);
      return { removed: request.paths.filter((path) => engine.removeFile(path)).length };
    case 'completion/complete':
      return engine.complete(request.path, request.textBefore, request.k, mixer);
    case 'completion/continue':
      return engine.continueLine(
        request.path,
        request.textBefore,
        { closerAfter: request.textAfter.trimStart().charAt(0) },
        { maxTokens: request.maxTokens, beamWidth: request.beamWidth, minProbability: request.minProbability },
        continuationMixer,
      );
    case 'model/adapt': {
      if (neural === undefined) throw new Error('No trained model yet: run MetaComplete: Start/Resume Meta-Training first.');
      // Adaptation learns from the document's text: its secrets are redacted as an indexed file's are.
      const tokens = secretFreeTokens(request.text, languageKindOf(request.path));
      if (neural.model.hyper.support !== 'neighbours') return neural.adapt(request.path, tokens);
      // A model meta-trained on neighbour supports adapts to the tokens of the file's nearest task-graph neighbours.
      return neural.adapt(request.path, tokens, engine.neighbourTokens(request.path, tokens, SUPPORT_NEIGHBOURS));
    }
    case 'taskGraph/snapshot':
      return engine.snapshot();
    case 'engine/stats':
      return model === undefined
        ? engine.stats()
        : { ...engine.stats(), model: neuralFailure === undefined ? model.info : { ...model.info, failure: neuralFailure } };
    case 'engine/save':
      return saveIndex(request.path);
    case 'engine/restore':
      return restoreIndex(request.path);
    case 'model/load':
      return loadModel(request.path);
  }
}

/** The lock of each index path saved to; held until this window's process ends. */
const indexLocks = new Map<string, IndexLock>();

async function saveIndex(path: string): Promise<EngineResults['engine/save']> {
  const started = performance.now();
  // Taken before the first await: requests that arrive during the write cannot change what is written.
  const state = engine.exportState();
  await mkdir(dirname(path), { recursive: true });
  // A second window on the workspace must not overwrite the first one's index.
  const lock = indexLocks.get(path) ?? new IndexLock(path);
  indexLocks.set(path, lock);
  const outcome = await lock.acquire();
  if (!outcome.held) throw new Error(describeLockedIndex(outcome.owner));
  const bytes = await saveEngineIndex(path, state);
  return { files: state.files.length, bytes, milliseconds: Math.round(performance.now() - started) };
}

async function restoreIndex(path: string): Promise<RestoreIndexResult> {
  const started = performance.now();
  try {
    const state = await loadEngineIndex(path);
    const { tokens } = engine.importState(state);
    const files = state.files.map((file) => (file.stamp === undefined ? { path: file.path } : { path: file.path, stamp: file.stamp }));
    return { restored: true, files, tokens, milliseconds: Math.round(performance.now() - started) };
  } catch (error) {
    if (error instanceof StateFileError) return { restored: false, missing: error.problem === 'missing', reason: error.reason };
    return { restored: false, missing: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

async function loadModel(path: string): Promise<LoadedModelInfo> {
  // TensorFlow.js is loaded on first use: a worker that only serves n-gram completions starts faster without it.
  const [{ initBackend }, { loadModelCheckpoint }] = await Promise.all([
    import('../core/backend/backend'),
    import('../core/persist/modelCheckpoint'),
  ]);
  // The bundle ships the wasm binaries in dist/wasm, beside this file.
  backend ??= initBackend({ wasmDir: join(__dirname, 'wasm'), log: () => undefined });
  const { name } = await backend;
  const loaded = await loadModelCheckpoint(path);
  const info: LoadedModelInfo = { learner: loaded.learner, vocabSize: loaded.config.vocabSize, backend: name };
  useModel(loaded, info);
  return info;
}

function idOf(message: unknown): number {
  const id = typeof message === 'object' && message !== null ? (message as { id?: unknown }).id : undefined;
  return Number.isInteger(id) ? (id as number) : -1;
}

async function respond(message: unknown): Promise<ResponseEnvelope> {
  try {
    const envelope = parseRequestEnvelope(message);
    return { version: ENGINE_PROTOCOL_VERSION, id: envelope.id, ok: true, result: await handle(envelope.request) };
  } catch (error) {
    // A bad message or a failing request is answered with an error; the worker keeps serving.
    const text = error instanceof Error ? error.message : String(error);
    return {
      version: ENGINE_PROTOCOL_VERSION,
      id: idOf(message),
      ok: false,
      error: error instanceof ProtocolError ? `malformed request: ${text}` : text,
    };
  }
}

if (parentPort === null) {
  process.stderr.write('metacomplete worker: start this file as a worker thread, not as a program.\n');
  process.exitCode = 2;
} else {
  const port = parentPort;
  const send = async (answer: Promise<ResponseEnvelope>): Promise<void> => {
    const response = await answer;
    try {
      port.postMessage(response);
    } catch (error) {
      // A result that cannot be cloned is still an answer, so the caller never waits forever.
      port.postMessage({ version: ENGINE_PROTOCOL_VERSION, id: response.id, ok: false, error: `unsendable result: ${(error as Error).message}` });
    }
  };
  // Requests are answered one at a time, in order, even those that wait for the disk: a restore
  // is complete before the next update. A save is one exception: it copies the state when it
  // starts, so completions need not wait for its write and fsync. Completions are the other:
  // they are answered as they arrive, between two files of a batch (`updateFiles`), since
  // every change to the engine is made in synchronous steps a completion cannot see half done.
  let queue = Promise.resolve();
  port.on('message', (message: unknown) => {
    if (isUnqueued(message)) {
      void send(respond(message));
      return;
    }
    queue = queue.then(async () => {
      const answer = respond(message);
      if (isSave(message)) void send(answer);
      else await send(answer);
    });
  });
}

function requestTypeOf(message: unknown): unknown {
  const request = typeof message === 'object' && message !== null ? (message as { request?: { type?: unknown } }).request : undefined;
  return typeof request === 'object' && request !== null ? request.type : undefined;
}

function isSave(message: unknown): boolean {
  return requestTypeOf(message) === 'engine/save';
}

function isUnqueued(message: unknown): boolean {
  return (UNQUEUED_TYPES as ReadonlySet<unknown>).has(requestTypeOf(message));
}
