import type { Completion, EngineStats, FileUpdate } from '../core/engine/completionEngine';
import type { TaskGraphSnapshot } from '../core/graph/taskGraph';

/** Bumped whenever a message changes shape; both ends check it on every message. */
export const ENGINE_PROTOCOL_VERSION = 1;

/** host → worker: learn (or re-learn) files from their bytes. */
export interface UpdateFilesRequest {
  type: 'files/update';
  files: { path: string; bytes: Uint8Array }[];
}
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
/** host → worker: the task graph as the panel draws it. */
export interface SnapshotRequest {
  type: 'taskGraph/snapshot';
}
/** host → worker: sizes of what the engine holds. */
export interface StatsRequest {
  type: 'engine/stats';
}

export type EngineRequest = UpdateFilesRequest | RemoveFilesRequest | CompleteRequest | SnapshotRequest | StatsRequest;

/** What each request resolves to. */
export interface EngineResults {
  'files/update': FileUpdate[];
  'files/remove': { removed: number };
  'completion/complete': Completion;
  'taskGraph/snapshot': TaskGraphSnapshot;
  'engine/stats': EngineStats;
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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ProtocolError(`${what} must be a string`);
  return value;
}

/** Checks a message that arrived at the worker; returns it typed, or throws a ProtocolError. */
export function parseRequestEnvelope(message: unknown): RequestEnvelope {
  if (!isRecord(message)) throw new ProtocolError('a request must be an object');
  if (message.version !== ENGINE_PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${String(message.version)} is not ${ENGINE_PROTOCOL_VERSION}`);
  }
  if (!Number.isInteger(message.id)) throw new ProtocolError('a request needs an integer id');
  const request = message.request;
  if (!isRecord(request)) throw new ProtocolError('request must be an object');
  return { version: ENGINE_PROTOCOL_VERSION, id: message.id as number, request: parseRequest(request) };
}

function parseRequest(request: Record<string, unknown>): EngineRequest {
  switch (request.type) {
    case 'files/update': {
      if (!Array.isArray(request.files)) throw new ProtocolError('files/update needs a files array');
      const files = request.files.map((file: unknown, index) => {
        if (!isRecord(file) || !(file.bytes instanceof Uint8Array)) {
          throw new ProtocolError(`files/update: file ${index} needs a path and bytes`);
        }
        return { path: expectString(file.path, `files/update: file ${index} path`), bytes: file.bytes };
      });
      return { type: 'files/update', files };
    }
    case 'files/remove': {
      if (!Array.isArray(request.paths)) throw new ProtocolError('files/remove needs a paths array');
      return { type: 'files/remove', paths: request.paths.map((path: unknown) => expectString(path, 'files/remove path')) };
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
    case 'taskGraph/snapshot':
      return { type: 'taskGraph/snapshot' };
    case 'engine/stats':
      return { type: 'engine/stats' };
    default:
      throw new ProtocolError(`unknown request type ${JSON.stringify(request.type)}`);
  }
}

/** Checks a message that arrived at the host from the worker. */
export function parseResponseEnvelope(message: unknown): ResponseEnvelope {
  if (!isRecord(message)) throw new ProtocolError('a response must be an object');
  if (message.version !== ENGINE_PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${String(message.version)} is not ${ENGINE_PROTOCOL_VERSION}`);
  }
  if (!Number.isInteger(message.id)) throw new ProtocolError('a response needs an integer id');
  const id = message.id as number;
  if (message.ok === true) return { version: ENGINE_PROTOCOL_VERSION, id, ok: true, result: message.result };
  if (message.ok === false) return { version: ENGINE_PROTOCOL_VERSION, id, ok: false, error: expectString(message.error, 'error') };
  throw new ProtocolError('a response needs ok: true or false');
}
