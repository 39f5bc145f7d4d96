import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../../src/core/backend/backend';
import { UNK_TOKEN, disposeTrainedModel, tensorGroupsOf } from '../../../../src/core/experiment/model';
import type { TrainedModel } from '../../../../src/core/experiment/model';
import { NETWORK_NAMES } from '../../../../src/core/meta/networkNames';
import { GATE_FEATURE_COUNT } from '../../../../src/core/mix/gate';
import { flattenParams, initLstmParams } from '../../../../src/core/neural/lstm';
import type { LstmConfig, ParamMap } from '../../../../src/core/neural/lstm';
import { SeededRandom } from '../../../../src/core/neural/random';
import {
  decodeModel,
  encodeModel,
  loadModelCheckpoint,
  saveModelCheckpoint,
} from '../../../../src/core/persist/modelCheckpoint';
import { parseModelCheckpoint, secretFreeCheckpoint } from '../../../../src/core/persist/modelFormat';
import { StateFileError, crc32, decodeStateFile, encodeStateFile } from '../../../../src/core/persist/stateFile';
import { SECRETS } from '../text/secretFixtures';

const config: LstmConfig = { vocabSize: 6, embeddingSize: 3, hiddenSize: 4, layers: 2 };
const classTokens = [UNK_TOKEN, 'const', 'x', '=', ';', 'return'];

function randomLike(map: ParamMap, seed: number): ParamMap {
  const random = new SeededRandom(seed);
  const out: ParamMap = {};
  for (const [name, tensor] of Object.entries(map)) out[name] = tf.tensor(random.uniformArray(tensor.size, 0.3), tensor.shape);
  return out;
}

function makeModel(full: boolean): TrainedModel {
  const params = flattenParams(initLstmParams(config, 3));
  const model: TrainedModel = {
    learner: full ? 'meta-network' : 'reptile',
    config,
    classTokens,
    params,
    hyper: {
      innerLr: 0.1, innerSteps: 5, alpha: 1, beta: 0.5, dynamicLr: 0.002, dynamicDecay: 0.02, dynamicSegment: 20,
      support: 'neighbours', supportFraction: 0.25, seed: 42,
    },
    provenance: { files: 12, tokens: 3456, backend: 'wasm', finalMetaLoss: 2.125 },
  };
  if (full) {
    model.lrs = randomLike(params, 5);
    model.meanSquares = randomLike(params, 6);
    const task = 2;
    const row = 2 * config.embeddingSize + 2 * config.hiddenSize;
    model.network = {
      [NETWORK_NAMES.encoderInput]: tf.randomUniform([config.embeddingSize, task], -1, 1, 'float32', 1),
      [NETWORK_NAMES.encoderTarget]: tf.randomUniform([config.embeddingSize, task], -1, 1, 'float32', 2),
      [NETWORK_NAMES.encoderBias]: tf.tensor1d([0.5, -0.25]),
      [NETWORK_NAMES.hyperKernel]: tf.randomUniform([task, row], -0.01, 0.01, 'float32', 3),
      [NETWORK_NAMES.hyperBias]: tf.zeros([row]),
    };
    model.gate = { order: 6, weights: Array.from({ length: GATE_FEATURE_COUNT }, (_, i) => i / 3 - 1), bias: -0.75 };
  }
  return model;
}

function bytesOf(map: ParamMap): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const [name, tensor] of Object.entries(map)) out[name] = new Uint8Array((tensor.dataSync() as Float32Array).slice().buffer);
  return out;
}

function assertSameModel(actual: TrainedModel, expected: TrainedModel): void {
  assert.equal(actual.learner, expected.learner);
  assert.deepEqual(actual.config, expected.config);
  assert.deepEqual(actual.classTokens, expected.classTokens);
  assert.deepEqual(actual.hyper, expected.hyper);
  assert.deepEqual(actual.provenance, expected.provenance);
  assert.deepEqual(actual.gate, expected.gate);
  const actualGroups = tensorGroupsOf(actual);
  const expectedGroups = tensorGroupsOf(expected);
  assert.deepEqual(Object.keys(actualGroups).sort(), Object.keys(expectedGroups).sort());
  for (const [group, map] of Object.entries(expectedGroups)) {
    assert.deepEqual(Object.keys(actualGroups[group]), Object.keys(map), `${group} names`);
    for (const [name, tensor] of Object.entries(map)) assert.deepEqual(actualGroups[group][name].shape, tensor.shape, `${group}/${name}`);
    assert.deepEqual(bytesOf(actualGroups[group]), bytesOf(map), `${group} values`);
  }
}

/** Rewrites a checkpoint's header with `edit` and re-seals it, as a buggy or hostile writer would. */
function withHeader(buffer: Buffer, edit: (header: Record<string, unknown>) => void): Buffer {
  const decoded = decodeStateFile(buffer, 'model');
  const header = decoded.header as Record<string, unknown>;
  edit(header);
  return encodeStateFile({ kind: 'model', header, blobs: decoded.blobs });
}

function rejectsWith(buffer: Uint8Array, pattern: RegExp): void {
  const before = tf.memory().numTensors;
  assert.throws(() => decodeModel(buffer), (error: unknown) => error instanceof StateFileError && pattern.test(error.message));
  assert.equal(tf.memory().numTensors, before, 'a rejected file allocates no tensor');
}

describe('model checkpoint', () => {
  before(async () => {
    await initBackend({ force: 'wasm' });
  });

  for (const full of [true, false]) {
    it(`round-trips a model ${full ? 'with lrs, network, meanSquares and gate' : 'with parameters only'}, bit for bit`, () => {
      const model = makeModel(full);
      const before = tf.memory().numTensors;
      const decoded = decodeModel(encodeModel(model));
      try {
        assertSameModel(decoded, model);
        assert.equal(decoded.gate === undefined, !full);
        assert.equal(decoded.lrs === undefined, !full);
      } finally {
        disposeTrainedModel(decoded);
      }
      assert.equal(tf.memory().numTensors, before, 'encode + decode + dispose leaves no tensor behind');
      disposeTrainedModel(model);
    });
  }

  it('keeps the support kind through a round trip, and reads a checkpoint saved before support kinds as prefix', () => {
    for (const support of ['prefix', 'neighbours'] as const) {
      const model = makeModel(false);
      model.hyper = { ...model.hyper, support };
      const decoded = decodeModel(encodeModel(model));
      assert.equal(decoded.hyper.support, support);
      disposeTrainedModel(decoded);
      disposeTrainedModel(model);
    }
    const model = makeModel(false);
    const saved = encodeModel(model);
    disposeTrainedModel(model);
    const old = decodeModel(withHeader(saved, (header) => delete (header.hyper as Record<string, unknown>).support));
    assert.equal(old.hyper.support, 'prefix');
    disposeTrainedModel(old);
    assert.throws(() => decodeModel(withHeader(saved, (header) => ((header.hyper as Record<string, unknown>).support = 'siblings'))), /hyper\.support must be "prefix" or "neighbours"/);
  });

  it('never writes a class token that is a secret: it is replaced by a placeholder the lexer cannot make', () => {
    const model = makeModel(false);
    const secrets = SECRETS.slice(2, 6).map((secret) => `'${secret.value}'`);
    model.classTokens = [UNK_TOKEN, 'const', secrets[0], '=', secrets[1], `"${SECRETS[3].value}"`];
    try {
      const saved = encodeModel(model);
      for (const secret of SECRETS) assert.ok(!saved.includes(secret.fragment), `${secret.name} is written to the checkpoint`);
      const decoded = decodeModel(saved);
      assert.deepEqual(decoded.classTokens.slice(0, 4), [UNK_TOKEN, 'const', decoded.classTokens[2], '=']);
      assert.match(decoded.classTokens[2], /\s/, 'a placeholder holds a space, which no token the lexer makes has');
      assert.equal(new Set(decoded.classTokens).size, decoded.classTokens.length, 'placeholders stay distinct');
      assert.deepEqual(model.classTokens[4], secrets[1], "the model in memory is the caller's and unchanged");
      disposeTrainedModel(decoded);
    } finally {
      disposeTrainedModel(model);
    }
  });

  it('stores and exports a checkpoint from an older writer without its secret class tokens, and leaves a clean one byte for byte', () => {
    const model = makeModel(false);
    const clean = encodeModel(model);
    disposeTrainedModel(model);
    assert.equal(secretFreeCheckpoint(clean).bytes, clean, 'a checkpoint without secrets is passed on as it is');
    assert.equal(secretFreeCheckpoint(clean).redacted, 0);
    // What a version before the secret policy wrote: the secrets in its plain-JSON class list.
    const leaky = withHeader(clean, (header) => {
      const classTokens = header.classTokens as string[];
      classTokens[2] = `'${SECRETS[2].value}'`;
      classTokens[4] = `"${SECRETS[3].value}"`;
    });
    assert.ok(leaky.includes(SECRETS[2].fragment), 'the forged file holds the secret');
    const { bytes, redacted } = secretFreeCheckpoint(leaky);
    assert.equal(redacted, 2);
    for (const secret of SECRETS) assert.ok(!Buffer.from(bytes).includes(secret.fragment), `${secret.name} is stored or exported`);
    const decoded = decodeModel(bytes);
    const original = decodeModel(clean);
    try {
      assert.deepEqual(decoded.classTokens.filter((_, index) => index !== 2 && index !== 4), original.classTokens.filter((_, index) => index !== 2 && index !== 4));
      assert.deepEqual(decoded.params.embedding.dataSync(), original.params.embedding.dataSync(), 'the weights are kept');
    } finally {
      disposeTrainedModel(decoded);
      disposeTrainedModel(original);
    }
  });

  it('refuses to save a model that could not be loaded again', () => {
    const model = makeModel(false);
    try {
      const nan = model.params['output.bias'];
      model.params['output.bias'] = tf.fill([config.vocabSize], Number.NaN);
      nan.dispose();
      assert.throws(() => encodeModel(model), /This model cannot be saved: .*output\.bias holds a non-finite value/);
    } finally {
      disposeTrainedModel(model);
    }
  });

  describe('rejects', () => {
    let good: Buffer;
    before(() => {
      const model = makeModel(true);
      good = encodeModel(model);
      disposeTrainedModel(model);
    });

    it('a flipped byte, a truncated file, wrong magic, another kind and a future version', () => {
      const flipped = Buffer.from(good);
      flipped[good.length >> 1] ^= 0x40;
      rejectsWith(flipped, /checksum mismatch/i);
      rejectsWith(good.subarray(0, good.length - 100), /truncated/i);
      const magic = Buffer.from(good);
      magic.write('PK', 0, 'latin1');
      rejectsWith(magic, /Not a MetaComplete file/);
      const other = encodeStateFile({ kind: 'engine-index', header: {}, blobs: new Map() });
      rejectsWith(other, /different kind of MetaComplete file: it holds "engine-index", not "model"/i);
      const future = Buffer.from(good);
      future.writeUInt32LE(99, 8);
      rejectsWith(future, /newer MetaComplete.*update MetaComplete/i);
      rejectsWith(withHeader(good, (header) => (header.checkpointVersion = 2)), /newer MetaComplete: model format 2/i);
    });

    it('a garbage JSON header under a valid checksum', () => {
      const bytes = Buffer.from(good);
      const at = bytes.indexOf(Buffer.from('{"checkpointVersion"'));
      bytes.write('#not-json#', at, 'latin1');
      bytes.writeUInt32LE(crc32(bytes.subarray(0, bytes.length - 4)), bytes.length - 4);
      rejectsWith(bytes, /header is invalid/i);
    });

    it('shapes that do not match the configuration', () => {
      rejectsWith(
        withHeader(good, (header) => ((header.config as LstmConfig).hiddenSize = 5)),
        /params\/embedding|params\/layer0\.kernel has shape \[3, 16\], the configuration needs \[3, 20\]/,
      );
      rejectsWith(withHeader(good, (header) => ((header.config as LstmConfig).layers = 1)), /config\.layers is 1 but the file holds the tensors of 2/);

    });

    it('class tokens of the wrong length or without <unk> first', () => {
      rejectsWith(withHeader(good, (header) => (header.classTokens as string[]).pop()), /5 class tokens for a vocabulary of 6/);
      rejectsWith(withHeader(good, (header) => ((header.classTokens as string[])[0] = 'unk')), /class 0 must be <unk>/);
    });

    it('missing parameters, a gate of the wrong width, and non-finite values', () => {
      rejectsWith(
        withHeader(good, (header) => delete (header.shapes as Record<string, Record<string, unknown>>).params['output.bias']),
        /params lacks output\.bias/,
      );
      rejectsWith(
        withHeader(good, (header) => (header.gate as { weights: number[] }).weights.push(1)),
        new RegExp(`the gate needs ${GATE_FEATURE_COUNT} weights, the file has ${GATE_FEATURE_COUNT + 1}`),
      );
      const decoded = decodeStateFile(good, 'model');
      const values = decoded.blobs.get('lrs/layer1.bias') as Float32Array;
      values[2] = Number.POSITIVE_INFINITY;
      rejectsWith(encodeStateFile(decoded), /lrs\/layer1\.bias holds a non-finite value at 2/);
    });

    it('a forged layer count at once, with a short message, before any shape is built', () => {
      // 1e6 layers took 23 s, 1.2 GB and printed a 60 MB message; 5e7 ran the heap out of memory.
      for (const layers of [1e6, 5e7]) {
        const forged = withHeader(good, (header) => ((header.config as LstmConfig).layers = layers));
        const started = performance.now();
        let message = '';
        assert.throws(() => decodeModel(forged), (error: unknown) => error instanceof StateFileError && ((message = error.message), true));
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 1000, `rejected in ${elapsed.toFixed(0)} ms`);
        assert.ok(message.length < 300, `a ${message.length}-character message`);
        assert.match(message, /config\.layers must be an integer from 1 to \d+/);
      }
      rejectsWith(withHeader(good, (header) => ((header.config as LstmConfig).layers = 3)), /config\.layers is 3 but the file holds the tensors of 2/);
    });

    it('sizes out of range or of the wrong type, each named', () => {
      const cases: [string, unknown, RegExp][] = [
        ['vocabSize', 1e9, /config\.vocabSize must be an integer from 2 to 100001/],
        ['hiddenSize', 4.5, /config\.hiddenSize must be an integer from 1 to 2048/],
        ['embeddingSize', '3', /config\.embeddingSize must be an integer from 1 to 2048/],
        ['layers', -1, /config\.layers must be an integer/],
      ];
      for (const [key, value, pattern] of cases) {
        rejectsWith(withHeader(good, (header) => ((header.config as unknown as Record<string, unknown>)[key] = value)), pattern);
      }
      const network = (header: Record<string, unknown>) => (header.shapes as Record<string, Record<string, number[]>>).network;
      rejectsWith(withHeader(good, (header) => (network(header)[NETWORK_NAMES.encoderBias] = [1e7])), /network\/encoder\.bias must be a vector of 1 to 1024 values/);
    });

    it('hyper-parameters that would hang or skew the worker: a segment of 0, negative or fractional, 1e9 inner steps, a gate order of 1e15', () => {
      const hyper = (key: string, value: unknown) => withHeader(good, (header) => ((header.hyper as Record<string, unknown>)[key] = value));
      for (const segment of [0, -32, 2.5]) rejectsWith(hyper('dynamicSegment', segment), /hyper\.dynamicSegment must be an integer from 1 to 4096/);
      rejectsWith(hyper('innerSteps', 1e9), /hyper\.innerSteps must be an integer from 1 to 100/);
      rejectsWith(hyper('innerLr', 0), /hyper\.innerLr must be a number from 0\.0001 to 10/);
      rejectsWith(hyper('alpha', -1), /hyper\.alpha must be a number from 0 to 100/);
      rejectsWith(hyper('beta', 'high'), /hyper\.beta must be a number/);
      rejectsWith(hyper('dynamicLr', 0), /hyper\.dynamicLr must be a number/);
      rejectsWith(hyper('dynamicDecay', 1.5), /hyper\.dynamicDecay must be a number from 0 to 1/);
      rejectsWith(hyper('supportFraction', 2), /hyper\.supportFraction must be a number from 0 to 1/);
      rejectsWith(hyper('seed', 0.5), /hyper\.seed must be an integer from 0 to 4294967295/);
      rejectsWith(withHeader(good, (header) => ((header.gate as { order: number }).order = 1e15)), /gate\.order must be an integer from 1 to 32/);
      rejectsWith(withHeader(good, (header) => ((header.provenance as Record<string, unknown>).adapterLr = 1e6)), /provenance\.adapterLr must be a number/);
    });

    it('input quoted in a message is cut short', () => {
      const long = 'x'.repeat(100_000);
      for (const forged of [
        withHeader(good, (header) => (header.learner = long)),
        withHeader(good, (header) => ((header.provenance as Record<string, unknown>)[long] = {})),
        withHeader(good, (header) => ((header.shapes as Record<string, unknown>)[long] = {})),
        encodeStateFile({ kind: long.slice(0, 1000), header: {}, blobs: new Map() }),
      ]) {
        assert.throws(() => decodeModel(forged), (error: unknown) => error instanceof StateFileError && error.message.length < 300);
      }
    });

    it('without allocating: the host can validate an import with parseModelCheckpoint', () => {
      const before = tf.memory().numTensors;
      const parsed = parseModelCheckpoint(good);
      assert.equal(parsed.header.learner, 'meta-network');
      assert.equal(parsed.values.params?.embedding.length, config.vocabSize * config.embeddingSize);
      assert.equal(tf.memory().numTensors, before);
    });
  });

  describe('files', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'mc-model-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('saves and loads through the file system', async () => {
      const model = makeModel(true);
      const target = join(dir, 'model.mcmodel');
      await saveModelCheckpoint(target, model);
      const loaded = await loadModelCheckpoint(target);
      try {
        assertSameModel(loaded, model);
      } finally {
        disposeTrainedModel(loaded);
        disposeTrainedModel(model);
      }
      assert.deepEqual(readdirSync(dir), ['model.mcmodel']);
    });

    it('loading a corrupt file fails with the path and reason and leaves the file as it was', async () => {
      const target = join(dir, 'model.mcmodel');
      const model = makeModel(false);
      const bytes = encodeModel(model);
      disposeTrainedModel(model);
      bytes[bytes.length - 20] ^= 0xff;
      writeFileSync(target, bytes);
      const before = tf.memory().numTensors;
      await assert.rejects(loadModelCheckpoint(target), (error: unknown) =>
        error instanceof StateFileError && error.message === `${target} cannot be used: checksum mismatch, the file is corrupt.`,
      );
      assert.deepEqual(readFileSync(target), bytes);
      assert.equal(tf.memory().numTensors, before);
    });

    it('a failed save keeps the previous checkpoint', async () => {
      const target = join(dir, 'model.mcmodel');
      const first = makeModel(false);
      await saveModelCheckpoint(target, first);
      const saved = readFileSync(target);
      const broken = makeModel(false);
      broken.classTokens = ['x', ...classTokens.slice(1)];
      await assert.rejects(saveModelCheckpoint(target, broken), /cannot be saved: class 0 must be <unk>/);
      assert.deepEqual(readFileSync(target), saved);
      assert.deepEqual(readdirSync(dir), ['model.mcmodel']);
      disposeTrainedModel(first);
      disposeTrainedModel(broken);
    });
  });
});
