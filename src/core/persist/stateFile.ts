import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { quoted } from '../text/quote';

/**
 * One binary container for everything MetaComplete saves (model checkpoints,
 * the engine's index): it says what it is (magic, format version, kind), holds
 * a JSON header and named numeric blobs, and ends with a CRC32 of all bytes
 * before it, so a torn or foreign file is refused instead of half-read.
 *
 * Layout (little-endian):
 *   magic[8] · formatVersion u32 · totalLength u32 ·
 *   kindLength u32 · kind utf8 · headerLength u32 · header utf8 JSON ·
 *   blobCount u32 · per blob: nameLength u32 · name utf8 · dtype u8 · elementCount u32 · padding to 4 · data ·
 *   crc32 u32
 */

/** A high-bit byte first (like PNG) so that a text-mode copy that mangles bytes is caught at once. */
const MAGIC = Buffer.from([0x89, 0x4d, 0x43, 0x53, 0x54, 0x0d, 0x0a, 0x1a]);
/** Bumped when the container layout changes; each kind versions its own header separately. */
export const STATE_FILE_FORMAT_VERSION = 1;
const PREAMBLE_BYTES = MAGIC.length + 4 + 4;
const CRC_BYTES = 4;
const MAX_NAME_BYTES = 1024;
/**
 * The largest state file read or written. The largest checkpoint the settings
 * allow at the default layer sizes (100,001 classes, 128 hidden and embedding
 * units, parameters, rates and mean squares) is about 310 MB; a saved index
 * of a 10,000-file workspace is far smaller. Anything larger is refused
 * before a byte is read.
 */
export const MAX_STATE_FILE_BYTES = 512 * 1024 * 1024;
/**
 * The largest JSON header, well below the file limit because parsing takes
 * about five times the text in heap (64 MB of `[0,0,…]` became 320 MB). The
 * saved index of 1,363 files (rxjs and typescript/lib) has a 0.3 MB header.
 */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** A problem's detail is cut to this length, whatever input it quotes. */
const MAX_DETAIL_CHARS = 200;

export type BlobData = Float32Array | Int32Array;

export interface StateFileContents {
  /** What the file holds, e.g. `model` or `engine-index`. */
  kind: string;
  /** Plain JSON data: anything that is not a large numeric array. */
  header: unknown;
  /** Named numeric arrays, in the order they were given. */
  blobs: Map<string, BlobData>;
}

export type StateFileProblem =
  | 'missing'
  | 'unreadable'
  | 'not-metacomplete'
  | 'newer-version'
  | 'older-version'
  | 'wrong-kind'
  | 'truncated'
  | 'checksum'
  | 'header'
  | 'content'
  | 'not-a-file'
  | 'too-large';

const PROBLEM_TEXT: Record<StateFileProblem, string> = {
  missing: 'the file does not exist',
  unreadable: 'the file could not be read',
  'not-metacomplete': 'not a MetaComplete file',
  'newer-version': 'written by a newer MetaComplete',
  'older-version': 'written by an older MetaComplete in a format no longer read',
  'wrong-kind': 'a different kind of MetaComplete file',
  truncated: 'the file is truncated',
  checksum: 'checksum mismatch, the file is corrupt',
  header: 'its header is invalid',
  content: 'its contents are invalid',
  'not-a-file': 'it is not a regular file',
  'too-large': `it is larger than the ${MAX_STATE_FILE_BYTES / 1024 / 1024} MiB a MetaComplete file may have`,
};

/**
 * A saved file that cannot be used. `message` is one sentence for the user;
 * `reason` is the short phrase for "… was unreadable (<reason>)".
 */
export class StateFileError extends Error {
  readonly reason: string;

  readonly detail?: string;

  constructor(
    readonly problem: StateFileProblem,
    detail?: string,
    readonly filePath?: string,
  ) {
    const shortDetail = detail !== undefined && detail.length > MAX_DETAIL_CHARS ? `${detail.slice(0, MAX_DETAIL_CHARS)}…` : detail;
    const reason = shortDetail === undefined ? PROBLEM_TEXT[problem] : `${PROBLEM_TEXT[problem]}: ${shortDetail}`;
    super(filePath === undefined ? `${capitalise(reason)}.` : `${filePath} cannot be used: ${reason}.`);
    this.name = 'StateFileError';
    this.detail = shortDetail;
    this.reason = reason;
  }

  /** The same problem, naming the file it was found in. */
  inFile(filePath: string): StateFileError {
    return new StateFileError(this.problem, this.detail, filePath);
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Node's native CRC-32 (20.15+, 22.2+), about 10x faster than the loop below, which stands in for it on older runtimes. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (IEEE 802.3, as zlib and PNG); `previous` continues a running value. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32 !== undefined ? nativeCrc32(bytes, previous) : crc32Portable(bytes, previous);
}

/** The table-driven CRC-32, for runtimes without `zlib.crc32`; exported to test it against the native one. */
export function crc32Portable(bytes: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const DTYPE_CODES = { float32: 1, int32: 2 } as const;

function dtypeCode(data: BlobData): number {
  if (data instanceof Float32Array) return DTYPE_CODES.float32;
  if (data instanceof Int32Array) return DTYPE_CODES.int32;
  throw new TypeError('State file blobs must be Float32Array or Int32Array.');
}

const padTo4 = (offset: number): number => (4 - (offset % 4)) % 4;

/** Serialises a state file; the result is ready for {@link writeStateFileAtomic}. */
export function encodeStateFile(contents: StateFileContents): Buffer {
  const kind = Buffer.from(contents.kind, 'utf8');
  if (kind.length === 0 || kind.length > MAX_NAME_BYTES) throw new RangeError('A state file kind must be 1 to 1024 bytes.');
  const headerText = JSON.stringify(contents.header);
  if (headerText === undefined) throw new TypeError('A state file header must be JSON-serialisable.');
  const header = Buffer.from(headerText, 'utf8');
  if (header.length > MAX_HEADER_BYTES) throw new RangeError(`A state file header cannot exceed ${MAX_HEADER_BYTES} bytes.`);
  const parts: Buffer[] = [];
  let length = PREAMBLE_BYTES;
  const push = (part: Buffer) => {
    parts.push(part);
    length += part.length;
  };
  const u32 = (value: number) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(value);
    push(bytes);
  };
  u32(kind.length);
  push(kind);
  u32(header.length);
  push(header);
  u32(contents.blobs.size);
  for (const [name, data] of contents.blobs) {
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length === 0 || nameBytes.length > MAX_NAME_BYTES) throw new RangeError(`Blob name "${name}" must be 1 to 1024 bytes.`);
    u32(nameBytes.length);
    push(nameBytes);
    push(Buffer.of(dtypeCode(data)));
    u32(data.length);
    push(Buffer.alloc(padTo4(length)));
    // A view for now: the concat below copies it. Typed arrays are little-endian on every platform Node runs on.
    push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  const total = length + CRC_BYTES;
  // Never write what the reader would refuse.
  if (total > MAX_STATE_FILE_BYTES) throw new RangeError(`A state file cannot exceed ${MAX_STATE_FILE_BYTES} bytes.`);
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(STATE_FILE_FORMAT_VERSION, MAGIC.length);
  preamble.writeUInt32LE(total, MAGIC.length + 4);
  const body = Buffer.concat([preamble, ...parts, Buffer.alloc(CRC_BYTES)], total);
  body.writeUInt32LE(crc32(body.subarray(0, total - CRC_BYTES)), total - CRC_BYTES);
  return body;
}

/**
 * Parses and checks a state file: magic, format version, length, checksum,
 * kind, header JSON and blob table, in that order, each failure a
 * {@link StateFileError}. Blobs are copies, independent of `buffer`.
 */
export function decodeStateFile(buffer: Uint8Array, expectedKind: string): StateFileContents {
  const bytes = Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StateFileError(bytes.length < MAGIC.length && MAGIC.subarray(0, bytes.length).equals(bytes) ? 'truncated' : 'not-metacomplete');
  }
  if (bytes.length < PREAMBLE_BYTES + CRC_BYTES) throw new StateFileError('truncated');
  const version = bytes.readUInt32LE(MAGIC.length);
  if (version > STATE_FILE_FORMAT_VERSION) {
    throw new StateFileError('newer-version', `format ${version}, this version reads ${STATE_FILE_FORMAT_VERSION}; update MetaComplete`);
  }
  if (version < STATE_FILE_FORMAT_VERSION) {
    throw new StateFileError('older-version', `format ${version}, this version reads ${STATE_FILE_FORMAT_VERSION}`);
  }
  const total = bytes.readUInt32LE(MAGIC.length + 4);
  if (total < PREAMBLE_BYTES + CRC_BYTES) throw new StateFileError('content', `a total length of ${total} bytes`);
  if (bytes.length < total) throw new StateFileError('truncated', `${bytes.length} of ${total} bytes`);
  if (bytes.length > total) throw new StateFileError('content', `${bytes.length - total} bytes after the end`);
  const stored = bytes.readUInt32LE(total - CRC_BYTES);
  if (crc32(bytes.subarray(0, total - CRC_BYTES)) !== stored) throw new StateFileError('checksum');

  // Past the checksum, a bad length can only come from a bug or a forged file; still never read out of bounds.
  const end = total - CRC_BYTES;
  let offset = PREAMBLE_BYTES;
  const u32 = (what: string): number => {
    if (offset + 4 > end) throw new StateFileError('content', `${what} runs past the end`);
    const value = bytes.readUInt32LE(offset);
    offset += 4;
    return value;
  };
  const take = (count: number, what: string): Buffer => {
    if (offset + count > end) throw new StateFileError('content', `${what} runs past the end`);
    const slice = bytes.subarray(offset, offset + count);
    offset += count;
    return slice;
  };
  const lengthOf = (what: string, limit: number): number => {
    const length = u32(`${what} length`);
    if (offset + length > end) throw new StateFileError('content', `${what} runs past the end`);
    if (length > limit) throw new StateFileError('content', `the ${what} is ${length} bytes, the limit is ${limit}`);
    return length;
  };
  const kind = take(lengthOf('kind', MAX_NAME_BYTES), 'kind').toString('utf8');
  if (kind !== expectedKind) throw new StateFileError('wrong-kind', `it holds ${quoted(kind)}, not "${expectedKind}"`);
  const headerText = take(lengthOf('header', MAX_HEADER_BYTES), 'header').toString('utf8');
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    // V8 quotes the input in its message; the detail is capped.
    throw new StateFileError('header', error instanceof Error ? error.message : 'not JSON');
  }
  const blobs = new Map<string, BlobData>();
  const blobCount = u32('blob count');
  for (let index = 0; index < blobCount; index++) {
    const name = take(lengthOf(`blob ${index} name`, MAX_NAME_BYTES), `blob ${index} name`).toString('utf8');
    const shown = quoted(name);
    const code = take(1, `blob ${shown} type`)[0];
    const count = u32(`blob ${shown} length`);
    take(padTo4(offset), `blob ${shown} padding`);
    if (blobs.has(name)) throw new StateFileError('content', `blob ${shown} appears twice`);
    const data = take(count * 4, `blob ${shown}`);
    const copy = new ArrayBuffer(data.length);
    new Uint8Array(copy).set(data);
    if (code === DTYPE_CODES.float32) blobs.set(name, new Float32Array(copy));
    else if (code === DTYPE_CODES.int32) blobs.set(name, new Int32Array(copy));
    else throw new StateFileError('content', `blob ${shown} has unknown type ${code}`);
  }
  if (offset !== end) throw new StateFileError('content', `${end - offset} unexplained bytes before the checksum`);
  return { kind, header, blobs };
}

/**
 * Replaces `filePath` by `buffer` so that a reader sees the old file or the
 * new one, never a mix: write a temporary file in the same folder, fsync it,
 * rename it over the target. On any failure the temporary file is removed and
 * the old file is untouched.
 */
export async function writeStateFileAtomic(filePath: string, buffer: Uint8Array): Promise<void> {
  const directory = path.dirname(filePath);
  const temporary = path.join(directory, `.${path.basename(filePath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temporary, 'wx', 0o644);
    await handle.writeFile(buffer);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temporary, filePath);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

/** Makes the rename itself durable; some platforms (Windows) cannot open a folder, which is fine to skip. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(directory, 'r');
    await handle.sync();
  } catch {
    // Durability of the rename is best effort; the file itself was synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The temporaries writeStateFileAtomic names: `.<name>.<pid>.<12 hex>.tmp`. */
const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
/** A temporary this old is left over even if its pid is alive: a write takes seconds, and pids are reused. */
export const STALE_TEMPORARY_MS = 5 * 60_000;

/** Whether a process with this pid runs (EPERM: it runs, as another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries of writes that never finished in `directory` (a
 * process that died between open and rename leaves one): those of a process
 * that no longer runs, and any older than STALE_TEMPORARY_MS. A write in
 * progress, in this process or another window's, is left alone. Returns the
 * names removed; a folder that cannot be read removes nothing.
 */
export async function removeStaleTemporaries(
  directory: string,
  now = Date.now(),
  isAlive: (pid: number) => boolean = isProcessAlive,
): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY_NAME.exec(name);
    if (match === null) continue;
    const file = path.join(directory, name);
    try {
      const stats = await fs.lstat(file);
      if (!stats.isFile()) continue;
      if (isAlive(Number(match[1])) && now - stats.mtimeMs < STALE_TEMPORARY_MS) continue;
      await fs.rm(file, { force: true });
      removed.push(name);
    } catch {
      // Gone meanwhile (renamed by its writer, or removed by another window): nothing to do.
    }
  }
  return removed;
}

/** Encodes and writes atomically. */
export async function writeStateFile(filePath: string, contents: StateFileContents): Promise<void> {
  await writeStateFileAtomic(filePath, encodeStateFile(contents));
}

/**
 * Opening without blocking lets a FIFO with no writer be opened, then refused
 * as not a regular file; it changes nothing for regular files. (Windows has
 * no such flag, and no FIFOs a path can name.)
 */
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

/**
 * The bytes of the state file at `filePath`, read only once the open file is
 * known to be a regular file of at most {@link MAX_STATE_FILE_BYTES}: a device
 * (/dev/zero), a FIFO, a folder or a huge file is refused before anything is
 * read. Checked on the open handle, so the file cannot be swapped between the
 * check and the read. Every failure is a {@link StateFileError} naming the file.
 */
export async function readStateFileBytes(filePath: string): Promise<Buffer> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(filePath, OPEN_FLAGS);
    const stats = await handle.stat();
    if (!stats.isFile()) throw new StateFileError('not-a-file', undefined, filePath);
    if (stats.size > MAX_STATE_FILE_BYTES) throw new StateFileError('too-large', `${stats.size} bytes`, filePath);
    const bytes = Buffer.alloc(stats.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    // A file that shrank while being read is short; one that grew is cut at its size when opened. Either fails the checksum.
    return bytes.subarray(0, filled);
  } catch (error) {
    if (error instanceof StateFileError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StateFileError('missing', undefined, filePath);
    if (code === 'EISDIR') throw new StateFileError('not-a-file', undefined, filePath);
    throw new StateFileError('unreadable', code ?? (error as Error).message, filePath);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Reads and decodes a state file of `expectedKind`; every failure, I/O included, is a {@link StateFileError} naming the file. */
export async function readStateFile(filePath: string, expectedKind: string): Promise<StateFileContents> {
  const bytes = await readStateFileBytes(filePath);
  try {
    return decodeStateFile(bytes, expectedKind);
  } catch (error) {
    if (error instanceof StateFileError) throw error.inFile(filePath);
    throw error;
  }
}
