import type { EngineIndexState } from '../engine/completionEngine';
import { quoted } from '../text/quote';
import { isSecretToken, redactedPlaceholder } from '../text/secrets';
import { StateFileError, decodeStateFile, encodeStateFile, readStateFile, writeStateFileAtomic } from './stateFile';

/** The state-file kind of the engine's saved index. */
export const ENGINE_INDEX_KIND = 'engine-index';
/**
 * Bumped when the header changes or when files would lex into different
 * tokens (lexer or `prepareFile` changes): an index of old tokens is then
 * rebuilt rather than mixed with new ones.
 */
export const ENGINE_INDEX_VERSION = 2;

interface IndexHeader {
  indexVersion: number;
  vocabulary: string[];
  /** In the order of the `tokens` blob; `length` tokens each. */
  files: { path: string; stamp?: string; length: number }[];
}

export function encodeEngineIndex(state: EngineIndexState): Buffer {
  let total = 0;
  for (const file of state.files) total += file.tokens.length;
  const tokens = new Int32Array(total);
  let offset = 0;
  const files: IndexHeader['files'] = state.files.map((file) => {
    tokens.set(file.tokens, offset);
    offset += file.tokens.length;
    return file.stamp === undefined ? { path: file.path, length: file.tokens.length } : { path: file.path, stamp: file.stamp, length: file.tokens.length };
  });
  // Learned tokens are secret-free already; a loaded model's classes join the vocabulary too, and are checked here.
  const vocabulary = state.vocabulary.map((token, id) => (isSecretToken(token) ? redactedPlaceholder(id) : token));
  const header: IndexHeader = { indexVersion: ENGINE_INDEX_VERSION, vocabulary, files };
  return encodeStateFile({ kind: ENGINE_INDEX_KIND, header, blobs: new Map([['tokens', tokens]]) });
}

function invalid(detail: string): StateFileError {
  return new StateFileError('content', detail);
}

/** Decodes and checks a saved index: every failure is a StateFileError whose reason can be shown to the user. */
export function decodeEngineIndex(buffer: Uint8Array): EngineIndexState {
  const { header, blobs } = decodeStateFile(buffer, ENGINE_INDEX_KIND);
  return checkIndex(header, blobs.get('tokens'));
}

function checkIndex(header: unknown, tokens: Float32Array | Int32Array | undefined): EngineIndexState {
  if (typeof header !== 'object' || header === null) throw new StateFileError('header', 'the index header is not an object');
  const { indexVersion, vocabulary, files } = header as Partial<Record<keyof IndexHeader, unknown>>;
  if (typeof indexVersion !== 'number') throw new StateFileError('header', 'the index header has no version');
  if (indexVersion > ENGINE_INDEX_VERSION) throw new StateFileError('newer-version', `index format ${indexVersion}`);
  if (indexVersion < ENGINE_INDEX_VERSION) throw new StateFileError('older-version', `index format ${indexVersion}`);
  if (!Array.isArray(vocabulary) || !vocabulary.every((token) => typeof token === 'string')) throw invalid('the vocabulary is not a list of strings');
  if (!Array.isArray(files)) throw invalid('the file list is missing');
  if (!(tokens instanceof Int32Array)) throw invalid('the token ids are missing');
  const state: EngineIndexState = { vocabulary, files: [] };
  let offset = 0;
  for (const [index, file] of files.entries()) {
    const { path, stamp, length } = (file ?? {}) as { path?: unknown; stamp?: unknown; length?: unknown };
    if (typeof path !== 'string' || (stamp !== undefined && typeof stamp !== 'string') || !Number.isInteger(length) || (length as number) < 0) {
      throw invalid(`file entry ${index} is malformed`);
    }
    const end = offset + (length as number);
    if (end > tokens.length) throw invalid(`the token ids of ${quoted(path)} run past the end`);
    const ids = tokens.subarray(offset, end);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < vocabulary.length)) throw invalid(`${quoted(path)} has a token id outside the vocabulary`);
    }
    state.files.push(stamp === undefined ? { path, tokens: ids } : { path, stamp, tokens: ids });
    offset = end;
  }
  if (offset !== tokens.length) throw invalid(`${tokens.length - offset} token ids belong to no file`);
  return state;
}

/** Saves the engine's index atomically; returns the file's size in bytes. */
export async function saveEngineIndex(filePath: string, state: EngineIndexState): Promise<number> {
  const buffer = encodeEngineIndex(state);
  await writeStateFileAtomic(filePath, buffer);
  return buffer.length;
}

/** Reads a saved index; a missing, corrupt or foreign file is a StateFileError naming the file and why. */
export async function loadEngineIndex(filePath: string): Promise<EngineIndexState> {
  const { header, blobs } = await readStateFile(filePath, ENGINE_INDEX_KIND);
  try {
    return checkIndex(header, blobs.get('tokens'));
  } catch (error) {
    if (error instanceof StateFileError) throw error.inFile(filePath);
    throw error;
  }
}
