import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompletionEngine } from '../../../../src/core/engine/completionEngine';
import {
  ENGINE_INDEX_VERSION,
  decodeEngineIndex,
  encodeEngineIndex,
  loadEngineIndex,
  saveEngineIndex,
} from '../../../../src/core/persist/engineIndexFile';
import { StateFileError, decodeStateFile, encodeStateFile } from '../../../../src/core/persist/stateFile';
import { SECRETS } from '../text/secretFixtures';
import { engineWithFiles } from './engineFixture';


function rejects(buffer: Uint8Array, problem: string, pattern: RegExp): void {
  assert.throws(
    () => decodeEngineIndex(buffer),
    (error: unknown) => error instanceof StateFileError && error.problem === problem && pattern.test(error.message),
  );
}

describe('engine index file', () => {
  it("never saves a vocabulary token that is a secret, such as a loaded model's class, and keeps the rest", () => {
    const engine = engineWithFiles();
    const secret = `'${SECRETS[4].value}'`;
    engine.internTokens([secret, 'settleBalance']);
    const decoded = decodeEngineIndex(encodeEngineIndex(engine.exportState()));
    assert.ok(!encodeEngineIndex(engine.exportState()).includes(SECRETS[4].fragment));
    assert.ok(decoded.vocabulary.includes('settleBalance') && decoded.vocabulary.includes('glimmerKey'));
    assert.equal(decoded.vocabulary.length, engine.exportState().vocabulary.length, 'ids keep their places');
  });

  it('round-trips an exported state exactly', () => {
    const state = engineWithFiles().exportState();
    const decoded = decodeEngineIndex(encodeEngineIndex(state));
    assert.deepEqual(decoded.vocabulary, state.vocabulary);
    assert.deepEqual(
      decoded.files.map((file) => ({ ...file, tokens: [...file.tokens] })),
      state.files.map((file) => ({ ...file, tokens: [...file.tokens] })),
    );
  });

  it('an engine restored from the file completes like the one that saved it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mc-index-'));
    try {
      const target = join(dir, 'index.mcstate');
      const engine = engineWithFiles();
      const bytes = await saveEngineIndex(target, engine.exportState());
      assert.equal(readFileSync(target).length, bytes);
      const restored = new CompletionEngine();
      restored.importState(await loadEngineIndex(target));
      assert.deepEqual(restored.complete('src/d.ts', 'console.log(glim', 3), engine.complete('src/d.ts', 'console.log(glim', 3));
      assert.equal(restored.stats().files, 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects corrupt, foreign and out-of-date files with a reason', async () => {
    const good = encodeEngineIndex(engineWithFiles().exportState());
    const flipped = Buffer.from(good);
    flipped[good.length - 8] ^= 1;
    rejects(flipped, 'checksum', /checksum mismatch/i);
    rejects(good.subarray(0, 40), 'truncated', /truncated/i);
    rejects(encodeStateFile({ kind: 'model', header: {}, blobs: new Map() }), 'wrong-kind', /holds "model", not "engine-index"/);

    const reseal = (edit: (header: Record<string, unknown>, blobs: Map<string, Float32Array | Int32Array>) => void) => {
      const decoded = decodeStateFile(good, 'engine-index');
      edit(decoded.header as Record<string, unknown>, decoded.blobs);
      return encodeStateFile(decoded);
    };
    rejects(reseal((header) => (header.indexVersion = ENGINE_INDEX_VERSION + 1)), 'newer-version', new RegExp(`newer MetaComplete: index format ${ENGINE_INDEX_VERSION + 1}`, 'i'));
    rejects(reseal((header) => (header.indexVersion = 0)), 'older-version', /older MetaComplete/i);
    rejects(reseal((header) => ((header.files as { length: number }[])[0].length += 1)), 'content', /token ids|belong to no file|outside/);
    rejects(reseal((_, blobs) => (blobs.get('tokens') as Int32Array).fill(1e6, 0, 1)), 'content', /outside the vocabulary/);
    rejects(reseal((header) => (header.vocabulary = 'nope')), 'content', /vocabulary is not a list/);
    rejects(reseal((_, blobs) => blobs.set('tokens', new Float32Array(3))), 'content', /token ids are missing/);

    const dir = mkdtempSync(join(tmpdir(), 'mc-index-'));
    try {
      const target = join(dir, 'index.mcstate');
      writeFileSync(target, 'not a state file at all');
      await assert.rejects(loadEngineIndex(target), (error: unknown) =>
        error instanceof StateFileError && error.message === `${target} cannot be used: not a MetaComplete file.`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
