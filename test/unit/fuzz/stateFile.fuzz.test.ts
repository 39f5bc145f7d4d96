import { strict as assert } from 'node:assert';
import type { EngineIndexState } from '../../../src/core/engine/completionEngine';
import { decodeEngineIndex, encodeEngineIndex } from '../../../src/core/persist/engineIndexFile';
import { decodeStateFile, encodeStateFile } from '../../../src/core/persist/stateFile';
import { engineWithFiles } from '../core/persist/engineFixture';
import { FuzzRandom, fuzzRuns } from './fuzzRuns';
import { HeapWatch, decodeWithin, headerTextOf, mutate, reseal } from './stateFileForgery';


/** A real engine index of a few files, with stamps, unicode and an empty file. */
function smallIndex(): Buffer {
  return encodeEngineIndex(engineWithFiles().exportState());
}

/** What a restored index must be: every file's token ids inside the vocabulary. */
function assertConsistent(state: EngineIndexState): void {
  assert.ok(state.vocabulary.every((token) => typeof token === 'string'));
  for (const file of state.files) {
    assert.equal(typeof file.path, 'string');
    for (const id of file.tokens) assert.ok(id >= 0 && id < state.vocabulary.length, `${file.path}: id ${id}`);
  }
}

describe('fuzz: state files', () => {
  const good = smallIndex();
  const goodHeader = headerTextOf(good);

  it('decodes a flipped, cut or forged engine index consistently or refuses it with a StateFileError, each within 1 s and 100 MB', function () {
    const runs = fuzzRuns(3000);
    const random = new FuzzRandom('stateFile');
    const heap = new HeapWatch();
    const outcomes = new Map<string, { accepted: number; refused: number }>();
    let slowest = 0;
    for (let run = 0; run < runs; run++) {
      const { kind, bytes } = mutate(random, good, goodHeader);
      const { ms, result } = decodeWithin(() => decodeEngineIndex(bytes), () => `input ${run} (${kind}, ${bytes.length} bytes)`);
      slowest = Math.max(slowest, ms);
      assert.ok(ms < 1000, `input ${run} (${kind}) took ${ms.toFixed(0)} ms`);
      if (result !== undefined) assertConsistent(result);
      const tally = outcomes.get(kind) ?? { accepted: 0, refused: 0 };
      tally[result === undefined ? 'refused' : 'accepted']++;
      outcomes.set(kind, tally);
      if (run % 100 === 0) heap.sample();
    }
    heap.sample();
    assert.ok(heap.peakGrowthMB < 100, `the heap grew by ${heap.peakGrowthMB.toFixed(0)} MB`);
    this.test!.title += ` [${runs} inputs, slowest ${slowest.toFixed(1)} ms, heap +${heap.peakGrowthMB.toFixed(0)} MB, ${[...outcomes].map(([kind, t]) => `${kind} ${t.accepted}/${t.refused}`).join('; ')} accepted/refused]`;
  });

  it('decodes random bytes behind a valid preamble, re-sealed, only as a StateFileError', () => {
    const runs = fuzzRuns(3000);
    const random = new FuzzRandom('stateFile-random');
    const preamble = encodeStateFile({ kind: 'engine-index', header: {}, blobs: new Map() }).subarray(0, 16);
    for (let run = 0; run < runs; run++) {
      const body = Buffer.from(random.bytes(4 + random.nextInt(200)));
      // Small lengths and counts are likelier than random u32s to lead the decoder deep into the body.
      for (let at = 0; at + 4 <= body.length; at += 4) if (random.chance(0.3)) body.writeUInt32LE(random.nextInt(16), at);
      const bytes = reseal(Buffer.concat([preamble, body, Buffer.alloc(4)]));
      decodeWithin(() => decodeStateFile(bytes, random.pick(['engine-index', 'model'])), () => `random input ${run}`);
    }
  });
});
