import type { Completion, Continuation, EngineStats, FileUpdate } from '../core/engine/completionEngine';
import type { TaskGraphSnapshot } from '../core/graph/taskGraph';
import { isRecord, itemsOf } from './guards';
import { describeValue } from '../core/text/quote';
import { LEARNER_NAMES } from './trainingEvents';
import type { LearnerName, SupportKind, TrainingEvent } from './trainingEvents';

/** Bumped whenever a message changes shape; both ends check it on every message. */
export const ENGINE_PROTOCOL_VERSION = 2;

/**
 * host → worker: learn (or re-learn) files from their bytes. `stamp` (e.g.
 * size and mtime) is kept with the file in the saved index, so that the next
 * session re-reads only files whose stamp changed.
 */
export interface UpdateFilesRequest {
  type: 'files/update';
  files: { path: string; bytes: Uint8Array; stamp?: string }[];
}
/**
 * Requests the worker answers as they arrive, between two files of a batch,
 * instead of behind the queue: a suggest list must not wait for indexing.
 */
export const UNQUEUED_TYPES: ReadonlySet<EngineRequest['type']> = new Set<EngineRequest['type']>(['completion/complete', 'completion/continue']);

/** host → worker: forget files that were deleted or excluded. */
export interface RemoveFilesRequest {
  type: 'files/remove';
  paths: string[];
}
/** host → worker: next-token suggestions at the cursor. */
export interface CompleteRequest {
  type: 'completion/complete';
  path: string;
  textBefore: string;
  k: number;
}
/**
 * host → worker: ghost text, the most likely rest of the line by beam search
 * over the model in use, in one request. `textAfter` is the line after the cursor.
 */
export interface ContinueRequest {
  type: 'completion/continue';
  path: string;
  textBefore: string;
  textAfter: string;
  /** Tokens at most, 1–64. */
  maxTokens: number;
  /** Hypotheses kept per step, 1–16 (1 is greedy). */
  beamWidth: number;
  /** Tokens less likely than this are not proposed, in [0, 1). */
  minProbability: number;
}
/** host → worker: the task graph as the panel draws it. */
export interface SnapshotRequest {
  type: 'taskGraph/snapshot';
}
/** host → worker: sizes of what the engine holds. */
export interface StatsRequest {
  type: 'engine/stats';
}

/** host → worker: write what the engine learned to `path` (an absolute path), atomically. */
export interface SaveIndexRequest {
  type: 'engine/save';
  path: string;
}
/** host → worker: learn what a saved index at `path` holds, without reading the files; a bad file changes nothing. */
export interface RestoreIndexRequest {
  type: 'engine/restore';
  path: string;
}
/** host → worker: validate the model checkpoint at `path` and use it, replacing the current model only on success. */
export interface LoadModelRequest {
  type: 'model/load';
  path: string;
}

/** Training sizes and rates a user may set (from settings or the panel); anything omitted keeps its default. */
export const TRAINING_OVERRIDE_KEYS = [
  'outerSteps',
  'innerSteps',
  'innerLr',
  'alpha',
  'beta',
  'pretrainEpochs',
  'metaBatch',
  'vocabSize',
  'embeddingSize',
  'hiddenSize',
  'seed',
] as const;
export type TrainingOverrides = Partial<Record<(typeof TRAINING_OVERRIDE_KEYS)[number], number>>;

/**
 * host → worker: meta-train `learner` on every indexed file, in the
 * background; progress arrives as events, the model is written to
 * `modelPath` (absolute) and used for completions. Answers at once.
 */
export interface StartTrainingRequest {
  type: 'training/start';
  learner: LearnerName;
  modelPath: string;
  overrides: TrainingOverrides;
  /** Where each task's support set comes from; default 'prefix'. */
  support?: SupportKind;
}
/** host → worker: pause, resume or cancel the running training (a no-op answer when none runs). */
export interface ControlTrainingRequest {
  type: 'training/pause' | 'training/resume' | 'training/cancel';
}

/**
 * host → worker: adapt the trained model to the file being edited (k inner
 * steps on its text so far, by the model's learner), so that completions in
 * it come from the adapted model; answers with the file's loss before and after.
 */
export interface AdaptRequest {
  type: 'model/adapt';
  path: string;
  text: string;
}

export interface AdaptResult {
  learner: LearnerName;
  /** Inner steps taken. */
  k: number;
  /** Tokens of the file the model adapted to. */
  tokens: number;
  /** Where the support set came from: the file's own text, or its task-graph neighbours' tokens (a model meta-trained so). */
  support?: SupportKind;
  /** Tokens of the support set. */
  supportTokens?: number;
  /** Mean class loss of the file's tokens, nats per token, before and after adapting. */
  lossBefore: number;
  lossAfter: number;
  milliseconds: number;
}

export type EngineRequest =
  | AdaptRequest
  | StartTrainingRequest
  | ControlTrainingRequest
  | UpdateFilesRequest
  | RemoveFilesRequest
  | CompleteRequest
  | ContinueRequest
  | SnapshotRequest
  | StatsRequest
  | SaveIndexRequest
  | RestoreIndexRequest
  | LoadModelRequest;

/** The trained model the worker holds, as the host shows it. */
export interface LoadedModelInfo {
  learner: LearnerName;
  /** Output classes of the LSTM, `<unk>` included. */
  vocabSize: number;
  /** The numeric backend its tensors live on. */
  backend: string;
  /** Set when the neural side failed and completions fell back to the n-gram: why. */
  failure?: string;
}

export type RestoreIndexResult =
  /** `files` lists what was learned with the stamps given when it was read. */
  | { restored: true; files: { path: string; stamp?: string }[]; tokens: number; milliseconds: number }
  /** `missing`: nothing was saved yet (not an error); otherwise `reason` says why the file was unusable. */
  | { restored: false; missing: boolean; reason: string };

/** What each request resolves to. */
export interface EngineResults {
  'files/update': FileUpdate[];
  'files/remove': { removed: number };
  'completion/complete': Completion;
  'completion/continue': Continuation;
  'taskGraph/snapshot': TaskGraphSnapshot;
  'engine/stats': EngineStats & { model?: LoadedModelInfo };
  'engine/save': { files: number; bytes: number; milliseconds: number };
  'engine/restore': RestoreIndexResult;
  'model/load': LoadedModelInfo;
  'model/adapt': AdaptResult;
  'training/start': TrainingStatus;
  'training/pause': TrainingStatus;
  'training/resume': TrainingStatus;
  'training/cancel': TrainingStatus;
}

/** Where the worker's training stands, as the answer to every training request. */
export interface TrainingStatus {
  state: 'idle' | 'running' | 'paused' | 'cancelling';
  learner?: LearnerName;
}

/** worker → host, unasked: training progress. Carries no id, so it never settles a request. */
export interface EventEnvelope {
  version: number;
  event: TrainingEvent;
}

/** host → worker envelope. */
export interface RequestEnvelope {
  version: number;
  id: number;
  request: EngineRequest;
}

/** worker → host envelope: the answer to request `id`. */
export type ResponseEnvelope =
  | { version: number; id: number; ok: true; result: unknown }
  | { version: number; id: number; ok: false; error: string };

/** Thrown for a message that does not match the protocol; its text says what is wrong. */
export class ProtocolError extends Error {}

function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ProtocolError(`${what} must be a string`);
  return value;
}

/** Saved state lives at absolute paths the host chose; a relative one would depend on the worker's cwd. */
function expectAbsolutePath(value: unknown, what: string): string {
  const path = expectString(value, what);
  if (!/^(\/|[A-Za-z]:[\\/]|\\\\)/.test(path)) throw new ProtocolError(`${what} must be an absolute path`);
  return path;
}

/** Checks a message that arrived at the worker; returns it typed, or throws a ProtocolError. */
export function parseRequestEnvelope(message: unknown): RequestEnvelope {
  if (!isRecord(message)) throw new ProtocolError('a request must be an object');
  if (message.version !== ENGINE_PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${describeValue(message.version)} is not ${ENGINE_PROTOCOL_VERSION}`);
  }
  if (!Number.isInteger(message.id)) throw new ProtocolError('a request needs an integer id');
  const request = message.request;
  if (!isRecord(request)) throw new ProtocolError('request must be an object');
  return { version: ENGINE_PROTOCOL_VERSION, id: message.id as number, request: parseRequest(request) };
}

function parseRequest(request: Record<string, unknown>): EngineRequest {
  switch (request.type) {
    case 'files/update': {
      const items = itemsOf(request.files);
      if (items === undefined) throw new ProtocolError('files/update needs a files array');
      const files = items.map((file, index) => {
        if (!isRecord(file) || !(file.bytes instanceof Uint8Array)) {
          throw new ProtocolError(`files/update: file ${index} needs a path and bytes`);
        }
        const path = expectString(file.path, `files/update: file ${index} path`);
        if (file.stamp === undefined) return { path, bytes: file.bytes };
        return { path, bytes: file.bytes, stamp: expectString(file.stamp, `files/update: file ${index} stamp`) };
      });
      return { type: 'files/update', files };
    }
    case 'files/remove': {
      const paths = itemsOf(request.paths);
      if (paths === undefined) throw new ProtocolError('files/remove needs a paths array');
      return { type: 'files/remove', paths: paths.map((path) => expectString(path, 'files/remove path')) };
    }
    case 'completion/complete': {
      const k = request.k;
      if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > 100) {
        throw new ProtocolError('completion/complete needs k between 1 and 100');
      }
      return {
        type: 'completion/complete',
        path: expectString(request.path, 'completion/complete path'),
        textBefore: expectString(request.textBefore, 'completion/complete textBefore'),
        k: k as number,
      };
    }
    case 'completion/continue': {
      const { maxTokens, beamWidth, minProbability } = request;
      if (!Number.isInteger(maxTokens) || (maxTokens as number) < 1 || (maxTokens as number) > 64) {
        throw new ProtocolError('completion/continue needs maxTokens between 1 and 64');
      }
      if (!Number.isInteger(beamWidth) || (beamWidth as number) < 1 || (beamWidth as number) > 16) {
        throw new ProtocolError('completion/continue needs beamWidth between 1 and 16');
      }
      if (typeof minProbability !== 'number' || !(minProbability >= 0 && minProbability < 1)) {
        throw new ProtocolError('completion/continue needs minProbability in [0, 1)');
      }
      return {
        type: 'completion/continue',
        path: expectString(request.path, 'completion/continue path'),
        textBefore: expectString(request.textBefore, 'completion/continue textBefore'),
        textAfter: expectString(request.textAfter, 'completion/continue textAfter'),
        maxTokens: maxTokens as number,
        beamWidth: beamWidth as number,
        minProbability,
      };
    }
    case 'taskGraph/snapshot':
      return { type: 'taskGraph/snapshot' };
    case 'engine/stats':
      return { type: 'engine/stats' };
    case 'training/start':
      return parseStartTraining(request);
    case 'model/adapt':
      return {
        type: 'model/adapt',
        path: expectString(request.path, 'model/adapt path'),
        text: expectString(request.text, 'model/adapt text'),
      };
    case 'training/pause':
    case 'training/resume':
    case 'training/cancel':
      return { type: request.type };
    case 'engine/save':
    case 'engine/restore':
    case 'model/load':
      return { type: request.type, path: expectAbsolutePath(request.path, `${request.type} path`) };
    default:
      throw new ProtocolError(`unknown request type ${describeValue(request.type)}`);
  }
}

function parseStartTraining(request: Record<string, unknown>): StartTrainingRequest {
  const learner = request.learner;
  if (typeof learner !== 'string' || !(LEARNER_NAMES as readonly string[]).includes(learner)) {
    throw new ProtocolError(`training/start needs a learner, one of ${LEARNER_NAMES.join(', ')}`);
  }
  const modelPath = expectAbsolutePath(request.modelPath, 'training/start modelPath');
  if (!isRecord(request.overrides)) throw new ProtocolError('training/start needs an overrides object (it may be empty)');
  const overrides: TrainingOverrides = {};
  for (const [key, value] of Object.entries(request.overrides)) {
    if (!(TRAINING_OVERRIDE_KEYS as readonly string[]).includes(key)) throw new ProtocolError(`training/start: unknown setting ${describeValue(key)}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ProtocolError(`training/start: ${key} must be a finite number ≥ 0`);
    }
    overrides[key as keyof TrainingOverrides] = value;
  }
  const support = request.support;
  if (support !== undefined && support !== 'prefix' && support !== 'neighbours') {
    throw new ProtocolError(`training/start: support must be "prefix" or "neighbours", got ${describeValue(support)}`);
  }
  return { type: 'training/start', learner: learner as LearnerName, modelPath, overrides, ...(support === undefined ? {} : { support }) };
}

/** An unasked worker → host message (training progress), or undefined when `message` is a response. */
export function parseEventEnvelope(message: unknown): EventEnvelope | undefined {
  if (!isRecord(message) || message.event === undefined) return undefined;
  if (message.version !== ENGINE_PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${describeValue(message.version)} is not ${ENGINE_PROTOCOL_VERSION}`);
  }
  const event = message.event;
  if (!isRecord(event) || typeof event.type !== 'string') throw new ProtocolError('an event needs a type');
  return { version: ENGINE_PROTOCOL_VERSION, event: event as unknown as TrainingEvent };
}

/** Checks a message that arrived at the host from the worker. */
export function parseResponseEnvelope(message: unknown): ResponseEnvelope {
  if (!isRecord(message)) throw new ProtocolError('a response must be an object');
  if (message.version !== ENGINE_PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${describeValue(message.version)} is not ${ENGINE_PROTOCOL_VERSION}`);
  }
  if (!Number.isInteger(message.id)) throw new ProtocolError('a response needs an integer id');
  const id = message.id as number;
  if (message.ok === true) return { version: ENGINE_PROTOCOL_VERSION, id, ok: true, result: message.result };
  if (message.ok === false) return { version: ENGINE_PROTOCOL_VERSION, id, ok: false, error: expectString(message.error, 'error') };
  throw new ProtocolError('a response needs ok: true or false');
}
