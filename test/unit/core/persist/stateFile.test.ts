import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsPromises, mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import {
  MAX_HEADER_BYTES,
  MAX_STATE_FILE_BYTES,
  STATE_FILE_FORMAT_VERSION,
  StateFileError,
  crc32,
  crc32Portable,
  decodeStateFile,
  encodeStateFile,
  readStateFile,
  removeStaleTemporaries,
  writeStateFileAtomic,
} from '../../../../src/core/persist/stateFile';

function sample(): Buffer {
  return encodeStateFile({
    kind: 'engine-index',
    header: { files: ['a.ts', 'b.ts'], note: 'ünïcode ✓' },
    blobs: new Map<string, Float32Array | Int32Array>([
      ['weights', Float32Array.of(1.5, -0, Number.MIN_VALUE, -3.25e30)],
      ['ids', Int32Array.of(0, -1, 2147483647, -2147483648, 7)],
      ['empty', new Float32Array(0)],
    ]),
  });
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** Re-seals a modified buffer with a valid checksum, as a forger or a buggy writer would. */
function reseal(bytes: Buffer): Buffer {
  bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
  return bytes;
}

function rejects(bytes: Uint8Array, problem: string, message: RegExp, kind = 'engine-index'): void {
  assert.throws(
    () => decodeStateFile(bytes, kind),
    (error: unknown) => error instanceof StateFileError && error.problem === problem && message.test(error.message),
  );
}

describe('state file', () => {
  it('computes the standard CRC-32, natively or portably, with the same values', () => {
    for (const checksum of [crc32, crc32Portable]) {
      assert.equal(checksum(Buffer.from('123456789')), 0xcbf43926);
      assert.equal(checksum(new Uint8Array(0)), 0);
      const bytes = sample();
      // Incremental use continues a previous value.
      assert.equal(checksum(bytes.subarray(10), checksum(bytes.subarray(0, 10))), crc32Portable(bytes));
    }
    const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
    if (native !== undefined) assert.equal(crc32Portable(sample()), native(sample()));
  });

  it('round-trips kind, header and every blob bit for bit', () => {
    const decoded = decodeStateFile(sample(), 'engine-index');
    assert.equal(decoded.kind, 'engine-index');
    assert.deepEqual(decoded.header, { files: ['a.ts', 'b.ts'], note: 'ünïcode ✓' });
    assert.deepEqual([...decoded.blobs.keys()], ['weights', 'ids', 'empty']);
    const weights = decoded.blobs.get('weights') as Float32Array;
    assert.ok(weights instanceof Float32Array);
    assert.deepEqual(new Uint8Array(weights.buffer), new Uint8Array(Float32Array.of(1.5, -0, Number.MIN_VALUE, -3.25e30).buffer));
    assert.ok(Object.is(weights[1], -0));
    assert.deepEqual([...(decoded.blobs.get('ids') as Int32Array)], [0, -1, 2147483647, -2147483648, 7]);
    assert.ok(decoded.blobs.get('ids') instanceof Int32Array);
    assert.equal(decoded.blobs.get('empty')?.length, 0);
  });

  it('rejects a flipped byte anywhere as a checksum mismatch', () => {
    const bytes = sample();
    for (const at of [20, 40, bytes.length - 10, bytes.length - 1]) {
      const copy = Buffer.from(bytes);
      copy[at] ^= 0x10;
      rejects(copy, 'checksum', /checksum mismatch, the file is corrupt/i);
    }
  });

  it('rejects a truncated file, even one cut inside the magic', () => {
    const bytes = sample();
    rejects(bytes.subarray(0, bytes.length - 1), 'truncated', /truncated: \d+ of \d+ bytes/);
    rejects(bytes.subarray(0, 14), 'truncated', /truncated/);
    rejects(bytes.subarray(0, 3), 'truncated', /truncated/);
    rejects(new Uint8Array(0), 'truncated', /truncated/);
  });

  it('rejects a file that is not MetaComplete\'s', () => {
    rejects(Buffer.from('{"just": "json"}'), 'not-metacomplete', /^Not a MetaComplete file\.$/);
    const bytes = sample();
    bytes[1] = 0x58;
    rejects(bytes, 'not-metacomplete', /Not a MetaComplete file/);
  });

  it('rejects another kind of MetaComplete file, naming both kinds', () => {
    rejects(sample(), 'wrong-kind', /a different kind of MetaComplete file: it holds "engine-index", not "model"/i, 'model');
  });

  it('rejects a newer and an older format version before trusting the layout', () => {
    const newer = sample();
    newer.writeUInt32LE(STATE_FILE_FORMAT_VERSION + 1, 8);
    rejects(newer, 'newer-version', /written by a newer MetaComplete: format 2, this version reads 1; update MetaComplete/i);
    const older = sample();
    older.writeUInt32LE(0, 8);
    rejects(older, 'older-version', /older MetaComplete/i);
  });

  it('rejects a garbage JSON header even when the checksum is valid', () => {
    const bytes = sample();
    const start = bytes.indexOf(Buffer.from('{"files"'));
    assert.ok(start > 0);
    bytes.write('{garbage', start, 'utf8');
    rejects(reseal(bytes), 'header', /its header is invalid: .*JSON/i);
  });

  it('rejects lengths that point outside the file even with a valid checksum', () => {
    const bytes = sample();
    // The kind length field follows the 16-byte preamble.
    bytes.writeUInt32LE(1 << 30, 16);
    rejects(reseal(bytes), 'content', /runs past the end/);
  });

  it('refuses a header over the limit before parsing it, and never writes one', () => {
    const spaces = ' '.repeat(MAX_HEADER_BYTES);
    assert.throws(() => encodeStateFile({ kind: 'engine-index', header: { note: spaces }, blobs: new Map() }), RangeError);
    // Whitespace around `{}` is valid JSON: only the limit can refuse it.
    const kind = Buffer.from('engine-index');
    const header = Buffer.from(`{}${spaces}`);
    const bytes = Buffer.concat([sample().subarray(0, 16), u32(kind.length), kind, u32(header.length), header, u32(0), Buffer.alloc(4)]);
    bytes.writeUInt32LE(bytes.length, 12);
    rejects(reseal(bytes), 'content', new RegExp(`the header is ${header.length} bytes, the limit is ${MAX_HEADER_BYTES}`));
  });

  it('quotes a foreign kind cut short', () => {
    const foreign = encodeStateFile({ kind: 'k'.repeat(1000), header: {}, blobs: new Map() });
    assert.throws(
      () => decodeStateFile(foreign, 'engine-index'),
      (error: unknown) => error instanceof StateFileError && error.problem === 'wrong-kind' && error.message.length < 300 && /"k+"…/.test(error.message),
    );
  });

  describe('files', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'mc-state-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('writes atomically, replaces the old file, and leaves no temporary file', async () => {
      const target = join(dir, 'index.state');
      writeFileSync(target, 'old');
      const bytes = sample();
      await writeStateFileAtomic(target, bytes);
      assert.deepEqual(readFileSync(target), bytes);
      assert.deepEqual(readdirSync(dir), ['index.state']);
      const read = await readStateFile(target, 'engine-index');
      assert.deepEqual(read.header, { files: ['a.ts', 'b.ts'], note: 'ünïcode ✓' });
    });

    it('keeps what is at the target when the rename fails, and cleans up', async () => {
      // A non-empty folder where the file should go: the write succeeds, the rename cannot.
      const target = join(dir, 'model.mcmodel');
      mkdirSync(target);
      writeFileSync(join(target, 'keep.txt'), 'precious');
      await assert.rejects(writeStateFileAtomic(target, sample()));
      assert.equal(readFileSync(join(target, 'keep.txt'), 'utf8'), 'precious');
      assert.deepEqual(readdirSync(dir), ['model.mcmodel']);
    });

    it('keeps the old file intact when the rename fails after the data was written', async () => {
      const target = join(dir, 'index.state');
      const old = sample();
      writeFileSync(target, old);
      const original = fsPromises.rename;
      fsPromises.rename = async () => {
        throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      };
      try {
        await assert.rejects(writeStateFileAtomic(target, Buffer.from('new content')), /EIO/);
      } finally {
        fsPromises.rename = original;
      }
      assert.deepEqual(readFileSync(target), old);
      assert.deepEqual(readdirSync(dir), ['index.state']);
    });

    it('refuses a device, a FIFO and a folder before reading, naming the file', async function () {
      // Reading /dev/zero grew to 2.7 GB; a FIFO without a writer blocked for ever.
      this.timeout(10_000);
      const fifo = join(dir, 'model.fifo');
      execFileSync('mkfifo', [fifo]);
      for (const path of ['/dev/zero', fifo, dir]) {
        await assert.rejects(readStateFile(path, 'model'), (error: unknown) =>
          error instanceof StateFileError && error.problem === 'not-a-file' && error.message === `${path} cannot be used: it is not a regular file.`,
        );
      }
    });

    it('refuses a file over the size limit without reading it', async () => {
      const sparse = join(dir, 'huge.mcmodel');
      writeFileSync(sparse, sample());
      truncateSync(sparse, MAX_STATE_FILE_BYTES + 1);
      const before = process.memoryUsage().arrayBuffers;
      await assert.rejects(readStateFile(sparse, 'engine-index'), (error: unknown) =>
        error instanceof StateFileError && error.problem === 'too-large' && /is larger than the 512 MiB a MetaComplete file may have/.test(error.message),
      );
      assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'the file was not read');
    });

    it('reports a missing or corrupt file with its path and reason', async () => {
      const missing = join(dir, 'none.state');
      await assert.rejects(readStateFile(missing, 'engine-index'), (error: unknown) =>
        error instanceof StateFileError && error.problem === 'missing' && error.message.includes(missing),
      );
      const corrupt = join(dir, 'corrupt.state');
      const bytes = sample();
      bytes[30] ^= 1;
      writeFileSync(corrupt, bytes);
      await assert.rejects(readStateFile(corrupt, 'engine-index'), (error: unknown) =>
        error instanceof StateFileError &&
        error.message === `${corrupt} cannot be used: checksum mismatch, the file is corrupt.` &&
        error.reason === 'checksum mismatch, the file is corrupt',
      );
    });
  });
});

describe('stale temporaries of atomic writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mc-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The pid of a process that ran and ended, as a window or worker that died mid-save. */
  const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

  it('removes the 0-byte temporaries of writers that died and the old ones, and keeps writes in progress and other files', async () => {
    const dead = `.index.mcstate.${deadPid()}.0123456789ab.tmp`;
    const inProgress = `.index.mcstate.${process.pid}.abcdefabcdef.tmp`;
    const old = `.model.mcmodel.${process.pid}.00ff00ff00ff.tmp`;
    const others = ['index.mcstate', 'model.mcmodel', '.notes.tmp', 'x.123.0123456789ab.tmp'];
    for (const name of [dead, inProgress, old, ...others]) writeFileSync(join(dir, name), '');
    const tenMinutesAgo = (Date.now() - 10 * 60_000) / 1000;
    utimesSync(join(dir, old), tenMinutesAgo, tenMinutesAgo);

    const removed = await removeStaleTemporaries(dir);
    assert.deepEqual(removed.sort(), [dead, old].sort());
    assert.deepEqual(readdirSync(dir).sort(), [inProgress, ...others].sort());
  });

  it('finds nothing to remove in a folder that does not exist yet', async () => {
    assert.deepEqual(await removeStaleTemporaries(join(dir, 'none')), []);
  });
});
