// What the state-file and checkpoint fuzzers do to a real file: flip bytes,
// cut it, rewrite its JSON header with hostile values, and re-seal it (total
// length and CRC recomputed) so that validation, not the checksum, must catch
// the forgery.
import { strict as assert } from 'node:assert';
import { StateFileError, crc32 } from '../../../src/core/persist/stateFile';
import type { FuzzRandom } from './fuzzRuns';

const PREAMBLE_BYTES = 16;
const TOTAL_LENGTH_AT = 12;

/** Rewrites the total length and the CRC, as a forger who knows the layout would. */
export function reseal(bytes: Buffer): Buffer {
  if (bytes.length < PREAMBLE_BYTES + 4) return bytes;
  bytes.writeUInt32LE(bytes.length, TOTAL_LENGTH_AT);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
  return bytes;
}

/** Where the JSON header sits in an encoded state file. */
function headerSpan(bytes: Buffer): { start: number; end: number } {
  const kindLength = bytes.readUInt32LE(PREAMBLE_BYTES);
  const lengthAt = PREAMBLE_BYTES + 4 + kindLength;
  const start = lengthAt + 4;
  return { start, end: start + bytes.readUInt32LE(lengthAt) };
}

/** `good` with its header text replaced by `text` (padded with spaces to keep the blobs 4-byte aligned), re-sealed. */
export function withHeaderText(good: Buffer, text: string): Buffer {
  const { start, end } = headerSpan(good);
  let header = Buffer.from(text, 'utf8');
  const misaligned = (header.length - (end - start)) % 4;
  if (misaligned !== 0) header = Buffer.concat([header, Buffer.alloc((4 - ((misaligned + 4) % 4)) % 4, 0x20)]);
  const out = Buffer.concat([good.subarray(0, start - 4), Buffer.alloc(4), header, good.subarray(end)]);
  out.writeUInt32LE(header.length, start - 4);
  return reseal(out);
}

export function headerTextOf(good: Buffer): string {
  const { start, end } = headerSpan(good);
  return good.subarray(start, end).toString('utf8');
}

/** Values a hostile header puts where a number, string, list or object belongs. */
const HOSTILE_VALUES: readonly unknown[] = [
  0, -1, 1, 2, 3, 0.5, 2.5, -0.25, 1e6, 5e7, 1e9, 2 ** 31, 2 ** 32, 2 ** 53 + 2, 1e15, 1e300, -1e300, Number.MAX_VALUE,
  '', '1', '12', '1e9', '0x10', 'NaN', 'Infinity', '12345678901234567890n', 'x'.repeat(5000),
  true, false, null, [], [1], [1e9], [-1], [1.5], [[[[[]]]]], {}, { valueOf: 3 }, { length: 1e9 },
];

/** Raw JSON number text that JSON.stringify would never write: Infinity when parsed, -0, past 2^53, BigInt-sized. */
const RAW_NUMBERS = ['1e999', '-1e999', '-0', '123456789012345678901234567890', '9007199254740993', '1e-999', '0.0000000000000000000001', '4294967297'];

/** A fresh copy each time: a later edit may write into it. */
function hostileValue(random: FuzzRandom): unknown {
  return structuredClone(random.pick(HOSTILE_VALUES));
}

/** Every path to a leaf or a container in `value`, for picking a place to forge. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], into: (string | number)[][] = [], budget = { left: 400 }): (string | number)[][] {
  if (budget.left-- <= 0) return into;
  if (prefix.length > 0) into.push(prefix);
  if (Array.isArray(value)) {
    // Long lists (class tokens, vocabulary) are sampled: a few entries stand for all.
    const indices = value.length <= 6 ? value.map((_, i) => i) : [0, 1, value.length >> 1, value.length - 1];
    for (const i of indices) pathsOf(value[i], [...prefix, i], into, budget);
  } else if (typeof value === 'object' && value !== null) {
    for (const key of Object.keys(value)) pathsOf((value as Record<string, unknown>)[key], [...prefix, key], into, budget);
  }
  return into;
}

function setAt(root: unknown, path: readonly (string | number)[], value: unknown, remove: boolean): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  // An earlier edit may have put a list where an object was: its `length` is not a field to forge.
  if (Array.isArray(node) && typeof last !== 'number') return;
  if (remove) {
    if (Array.isArray(node) && typeof last === 'number') node.splice(last, 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
}

/** The header with one to three fields set to hostile values, deleted, or lists grown and shrunk. */
export function forgedHeaderText(random: FuzzRandom, goodHeader: string): string {
  const header = JSON.parse(goodHeader) as unknown;
  const paths = pathsOf(header);
  const edits = 1 + random.nextInt(3);
  for (let edit = 0; edit < edits; edit++) {
    const path = random.pick(paths);
    try {
      setAt(header, path, hostileValue(random), random.chance(0.1));
    } catch {
      // An earlier edit removed this path's parent: skip it.
    }
    if (random.chance(0.05)) (header as Record<string, unknown>)[random.pick(['extra', '__proto__', 'constructor'])] = hostileValue(random);
  }
  let text = JSON.stringify(header);
  // Raw number text for one number in the header, as a hand-written file could hold it.
  if (random.chance(0.3)) {
    const numbers = [...text.matchAll(/(?<=[:,[])-?\d+(\.\d+)?([eE][+-]?\d+)?(?=[,\]}])/g)];
    if (numbers.length > 0) {
      const match = random.pick(numbers);
      const at = match.index ?? 0;
      text = text.slice(0, at) + random.pick(RAW_NUMBERS) + text.slice(at + match[0].length);
    }
  }
  return text;
}

/** One mutation of `good`: byte flips (re-sealed or not), a cut, layout fields overwritten, or a forged header. */
export function mutate(random: FuzzRandom, good: Buffer, goodHeader: string): { kind: string; bytes: Buffer } {
  const choice = random.nextInt(6);
  if (choice === 0) {
    const bytes = Buffer.from(good);
    const flips = 1 + random.nextInt(4);
    for (let i = 0; i < flips; i++) bytes[random.nextInt(bytes.length)] ^= 1 + random.nextInt(255);
    return { kind: 'byte flips', bytes };
  }
  if (choice === 1) {
    const bytes = Buffer.from(good);
    const flips = 1 + random.nextInt(4);
    // Past the preamble, so the re-seal's length and checksum make the flips reach validation.
    for (let i = 0; i < flips; i++) bytes[PREAMBLE_BYTES + random.nextInt(bytes.length - PREAMBLE_BYTES - 4)] ^= 1 + random.nextInt(255);
    return { kind: 'byte flips, re-sealed', bytes: reseal(bytes) };
  }
  if (choice === 2) {
    const cut = Buffer.from(good.subarray(0, random.nextInt(good.length)));
    return { kind: 'truncation', bytes: random.chance(0.5) ? reseal(cut) : cut };
  }
  if (choice === 3) {
    // A u32 of the layout (a length or a count) set to a hostile value, the file re-sealed.
    const bytes = Buffer.from(good);
    const { start, end } = headerSpan(good);
    const at = random.pick([PREAMBLE_BYTES, start - 4, end, end + 4, PREAMBLE_BYTES + 4 * random.nextInt(Math.floor((bytes.length - PREAMBLE_BYTES - 4) / 4))]);
    bytes.writeUInt32LE(random.pick([0, 1, 3, 0x7fffffff, 0xffffffff, 1 << 30, bytes.length, bytes.readUInt32LE(at) + 1]) >>> 0, at);
    return { kind: 'layout field', bytes: reseal(bytes) };
  }
  return { kind: 'forged header', bytes: withHeaderText(good, forgedHeaderText(random, goodHeader)) };
}

/** Runs `decode` on `input`, allowing only success or a StateFileError; returns how long it took. */
export function decodeWithin<T>(decode: () => T, describe: () => string): { ms: number; result?: T } {
  const started = performance.now();
  try {
    const result = decode();
    return { ms: performance.now() - started, result };
  } catch (error) {
    const ms = performance.now() - started;
    if (!(error instanceof StateFileError)) assert.fail(`${describe()} threw ${(error as Error)?.name}: ${String((error as Error)?.message).slice(0, 300)}`);
    assert.ok(error.message.length < 1000, `${describe()}: a ${error.message.length}-character message`);
    return { ms };
  }
}

const MB = 1024 * 1024;

/** Heap growth over a fuzz run, sampled as it goes: the largest excess over the heap in use before it. */
export class HeapWatch {
  private readonly baseline = process.memoryUsage().heapUsed;
  peakGrowthMB = 0;

  sample(): void {
    this.peakGrowthMB = Math.max(this.peakGrowthMB, (process.memoryUsage().heapUsed - this.baseline) / MB);
  }
}
