import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/backend';
import { UNK_TOKEN, disposeTrainedModel } from '../../../src/core/experiment/model';
import type { TrainedModel } from '../../../src/core/experiment/model';
import { MODEL_FIELD_RANGES, TRAINING_SETTING_RANGES, isInRange } from '../../../src/core/experiment/settingRanges';
import { NETWORK_NAMES } from '../../../src/core/meta/networkNames';
import { GATE_FEATURE_COUNT } from '../../../src/core/mix/gate';
import { flattenParams, initLstmParams } from '../../../src/core/neural/lstm';
import type { LstmConfig, ParamMap } from '../../../src/core/neural/lstm';
import { SeededRandom } from '../../../src/core/neural/random';
import { decodeModel, encodeModel } from '../../../src/core/persist/modelCheckpoint';
import { parseModelCheckpoint } from '../../../src/core/persist/modelFormat';
import type { ModelCheckpointContents } from '../../../src/core/persist/modelFormat';
import { FuzzRandom, fuzzRuns } from './fuzzRuns';
import { HeapWatch, decodeWithin, headerTextOf, mutate } from './stateFileForgery';

const config: LstmConfig = { vocabSize: 6, embeddingSize: 3, hiddenSize: 4, layers: 2 };

function randomLike(map: ParamMap, seed: number): ParamMap {
  const random = new SeededRandom(seed);
  const out: ParamMap = {};
  for (const [name, tensor] of Object.entries(map)) out[name] = tf.tensor(random.uniformArray(tensor.size, 0.3), tensor.shape);
  return out;
}

/** A small model with every tensor group and a gate, as the Meta-Network writes it. */
function smallModel(): TrainedModel {
  const params = flattenParams(initLstmParams(config, 3));
  const row = 2 * config.embeddingSize + 2 * config.hiddenSize;
  return {
    learner: 'meta-network',
    config,
    classTokens: [UNK_TOKEN, 'const', 'x', '=', ';', 'return'],
    params,
    lrs: randomLike(params, 5),
    meanSquares: randomLike(params, 6),
    network: {
      [NETWORK_NAMES.encoderInput]: tf.randomUniform([config.embeddingSize, 2], -1, 1, 'float32', 1),
      [NETWORK_NAMES.encoderTarget]: tf.randomUniform([config.embeddingSize, 2], -1, 1, 'float32', 2),
      [NETWORK_NAMES.encoderBias]: tf.tensor1d([0.5, -0.25]),
      [NETWORK_NAMES.hyperKernel]: tf.randomUniform([2, row], -0.01, 0.01, 'float32', 3),
      [NETWORK_NAMES.hyperBias]: tf.zeros([row]),
    },
    gate: { order: 6, weights: Array.from({ length: GATE_FEATURE_COUNT }, (_, i) => i / 3 - 1), bias: -0.75 },
    hyper: {
      innerLr: 0.1, innerSteps: 5, alpha: 1, beta: 0.5, dynamicLr: 0.002, dynamicDecay: 0.02, dynamicSegment: 20,
      support: 'neighbours', supportFraction: 0.25, seed: 42,
    },
    provenance: { files: 12, tokens: 3456, backend: 'wasm', finalMetaLoss: 2.125, adapterLr: 0.03 },
  };
}

/** What a checkpoint that passed validation must be: sizes and fields in range, every tensor as large as its shape says. */
function assertConsistent(contents: ModelCheckpointContents): void {
  const { header, values } = contents;
  assert.ok(isInRange(header.config.vocabSize, TRAINING_SETTING_RANGES.vocabSize));
  assert.ok(isInRange(header.config.layers, MODEL_FIELD_RANGES.layers));
  assert.equal(header.classTokens.length, header.config.vocabSize);
  assert.equal(header.classTokens[0], UNK_TOKEN);
  assert.ok(isInRange(header.hyper.dynamicSegment, MODEL_FIELD_RANGES.dynamicSegment));
  assert.ok(isInRange(header.hyper.innerSteps, TRAINING_SETTING_RANGES.innerSteps));
  if (header.gate !== undefined) assert.ok(isInRange(header.gate.order, MODEL_FIELD_RANGES.ngramOrder));
  for (const [group, tensors] of Object.entries(values)) {
    for (const [name, data] of Object.entries(tensors ?? {})) {
      const shape = header.shapes[group as keyof typeof header.shapes]?.[name] ?? [];
      assert.equal(data.length, shape.reduce((product, dimension) => product * dimension, 1), `${group}/${name}`);
    }
  }
}

describe('fuzz: model checkpoints', () => {
  let good: Buffer;
  let goodHeader: string;
  before(async () => {
    await initBackend({ force: 'wasm' });
    const model = smallModel();
    good = encodeModel(model);
    disposeTrainedModel(model);
    goodHeader = headerTextOf(good);
  });

  it('decodes a flipped, cut or forged checkpoint consistently or refuses it with a StateFileError, each within 1 s and 100 MB', function () {
    const runs = fuzzRuns(3000);
    const random = new FuzzRandom('checkpoint');
    const heap = new HeapWatch();
    const tensorsBefore = tf.memory().numTensors;
    const outcomes = new Map<string, { accepted: number; refused: number }>();
    let slowest = 0;
    for (let run = 0; run < runs; run++) {
      const { kind, bytes } = mutate(random, good, goodHeader);
      const describe = () => `input ${run} (${kind}, ${bytes.length} bytes)`;
      // Every tenth input goes all the way to tensors; the rest stop at validation, as Import Model does.
      const full = run % 10 === 0;
      const { ms, result } = decodeWithin(() => (full ? decodeModel(bytes) : parseModelCheckpoint(bytes)), describe);
      slowest = Math.max(slowest, ms);
      assert.ok(ms < 1000, `${describe()} took ${ms.toFixed(0)} ms`);
      if (result !== undefined) {
        if (full) {
          const model = result as TrainedModel;
          assert.equal(model.classTokens.length, model.config.vocabSize);
          disposeTrainedModel(model);
        } else {
          assertConsistent(result as ModelCheckpointContents);
        }
      }
      const tally = outcomes.get(kind) ?? { accepted: 0, refused: 0 };
      tally[result === undefined ? 'refused' : 'accepted']++;
      outcomes.set(kind, tally);
      if (run % 100 === 0) heap.sample();
    }
    heap.sample();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'refused or disposed inputs leave no tensor');
    assert.ok(heap.peakGrowthMB < 100, `the heap grew by ${heap.peakGrowthMB.toFixed(0)} MB`);
    const forged = outcomes.get('forged header');
    assert.ok(forged !== undefined && forged.refused > 0, 'forged headers reach validation');
    this.test!.title += ` [${runs} inputs, slowest ${slowest.toFixed(1)} ms, heap +${heap.peakGrowthMB.toFixed(0)} MB, ${[...outcomes].map(([kind, t]) => `${kind} ${t.accepted}/${t.refused}`).join('; ')} accepted/refused]`;
  });
});
