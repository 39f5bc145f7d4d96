import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/backend';
import { adaptAt, classRows, dynamicRows, DynamicRowStream, FileRowStreams, lstmForward } from '../../../src/core/experiment/adapt';
import { DynamicEvaluator } from '../../../src/core/meta/online';
import { disposeTrainedModel } from '../../../src/core/experiment/model';
import type { TrainedModel } from '../../../src/core/experiment/model';
import { DEFAULT_TRAIN_SETTINGS, hyperOf } from '../../../src/core/experiment/train';
import { flattenParams, initLstmParams } from '../../../src/core/neural/lstm';
import { buildClassTokens, classIndexOf, fileClassIds, supportLength } from '../../../src/core/experiment/classes';
import { holdOut } from '../../../src/core/experiment/pipeline';

describe('experiment: classes and splits', () => {
  it('keeps <unk> at class 0 and the most frequent tokens after it, end-of-file counted once per file', () => {
    const classes = buildClassTokens([{ tokens: ['a', 'b', 'a', 'c'] }, { tokens: ['a', 'b'] }], 4);
    assert.deepEqual(classes, ['<unk>', 'a', '<eof>', 'b']);
    const index = classIndexOf(classes);
    assert.deepEqual(Array.from(fileClassIds(['b', 'z', 'a'], index)), [3, 0, 1, 2]);
  });

  it('refuses a class list that does not start with <unk> or repeats a token', () => {
    assert.throws(() => classIndexOf(['a', '<unk>']), /Class 0 must be <unk>/);
    assert.throws(() => classIndexOf(['<unk>', 'a', 'a']), /two classes/);
  });

  it('gives the support at least one token and the query at least one', () => {
    assert.equal(supportLength(10, 0.5, 256), 5);
    assert.equal(supportLength(10, 0.5, 3), 3);
    assert.equal(supportLength(2, 0.5, 256), 1);
    assert.equal(supportLength(10, 1, 256), 9);
    assert.equal(supportLength(10, 0, 256), 1);
  });

  it('holds out every n-th file by path, whatever the input order', () => {
    const files = ['e', 'a', 'd', 'c', 'b', 'f'].map((relPath) => ({ relPath }));
    const { kept, heldOut } = holdOut(files, 3);
    assert.deepEqual(heldOut.map((file) => file.relPath), ['c', 'f']);
    assert.deepEqual(kept.map((file) => file.relPath), ['a', 'b', 'd', 'e']);
    // A small workspace still holds one file out, so the gate can be fitted; two files are both kept.
    assert.deepEqual(holdOut(files.slice(0, 4), 8).heldOut.map((file) => file.relPath), ['e']);
    assert.deepEqual(holdOut(files.slice(0, 2), 8).heldOut, []);
  });
});

describe('experiment: adapting and scoring a trained model', () => {
  const config = { vocabSize: 7, embeddingSize: 4, hiddenSize: 5, layers: 1 };
  let model: TrainedModel;
  before(async () => {
    await initBackend({ force: 'wasm' });
    model = {
      learner: 'reptile',
      config,
      classTokens: ['<unk>', 'a', 'b', 'c', 'd', 'e', '<eof>'],
      params: flattenParams(initLstmParams(config, 3)),
      hyper: { ...hyperOf(DEFAULT_TRAIN_SETTINGS), innerLr: 0.5 },
      provenance: {},
    };
  });
  after(() => disposeTrainedModel(model));

  const ids = Int32Array.from([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 6]);
  const settings = { innerLr: 0.5, adapterLr: 0.5, innerClip: 5, shape: { batchSize: 2, timeSteps: 4 } };

  it('scores rows that are distributions, and adapting to the support lowers the loss on the rest of a repetitive file', () => {
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    adaptAt(model, ids, 9, [0, 5], settings, (_k, run) => {
      const rows = classRows(run, ids, 9, config.vocabSize);
      assert.equal(rows.length, (ids.length - 9) * config.vocabSize);
      let loss = 0;
      for (let r = 0; r < ids.length - 9; r++) {
        const row = rows.subarray(r * config.vocabSize, (r + 1) * config.vocabSize);
        assert.ok(Math.abs(row.reduce((sum, p) => sum + p, 0) - 1) < 1e-4);
        loss -= Math.log(row[ids[9 + r]]);
      }
      losses.push(loss);
    });
    assert.ok(losses[1] < losses[0], `k=5 ${losses[1]} < k=0 ${losses[0]}`);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it('dynamic evaluation scores each segment before learning it, and with a zero rate equals plain scoring', () => {
    const before = tf.memory().numTensors;
    const plain = classRows(lstmForward(model.params), ids, 5, config.vocabSize);
    const frozen = dynamicRows(model.params, ids, 5, config.vocabSize, { lr: 1e-12, decay: 0, segment: 3 });
    plain.forEach((p, i) => assert.ok(Math.abs(p - frozen[i]) < 1e-5, `row value ${i}`));
    // From the first token on, the first segment is scored before any step: as plain scoring; later ones differ.
    const fromStart = classRows(lstmForward(model.params), ids, 1, config.vocabSize);
    const online = dynamicRows(model.params, ids, 1, config.vocabSize, { lr: 0.05, decay: 0, segment: 3 });
    for (let i = 0; i < 3 * config.vocabSize; i++) assert.ok(Math.abs(online[i] - fromStart[i]) < 1e-5, `first segment ${i}`);
    assert.ok(online.some((p, i) => i >= 3 * config.vocabSize && Math.abs(p - fromStart[i]) > 1e-4), 'later segments adapted');
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it('streams dynamic rows a segment at a time, as the evaluator scores then learns each segment, and only forward', () => {
    const before = tf.memory().numTensors;
    const dynamic = { lr: 0.05, decay: 0.01, segment: 4 };
    // By hand: read the support (5 tokens) in segments, then predict each query segment before observing it.
    const evaluator = new DynamicEvaluator(model.params, dynamic);
    evaluator.observe(ids.subarray(0, 4));
    evaluator.observe(ids.subarray(4, 5));
    const expected: number[] = [];
    for (let start = 5; start < ids.length; start += 4) {
      const segment = ids.subarray(start, Math.min(start + 4, ids.length));
      expected.push(...evaluator.predict(segment).probabilities);
      evaluator.observe(segment);
    }
    evaluator.dispose();
    const stream = new DynamicRowStream(model.params, ids, 5, config.vocabSize, dynamic);
    for (let index = 5; index < ids.length; index++) {
      const row = stream.row(index);
      assert.equal(row.length, config.vocabSize);
      row.forEach((p, c) => assert.ok(Math.abs(p - expected[(index - 5) * config.vocabSize + c]) < 1e-6, `position ${index} class ${c}`));
    }
    // Asking again within the current segment is fine; going back before it is refused.
    assert.equal(stream.row(ids.length - 1).length, config.vocabSize);
    assert.throws(() => stream.row(5), /go forward/);
    stream.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it("holds one file's row stream at a time as a scorer walks file after file", () => {
    const before = tf.memory().numTensors;
    const dynamic = { lr: 0.05, decay: 0.01, segment: 4 };
    const streams = new FileRowStreams();
    const opened: string[] = [];
    const open = (path: string) => () => {
      opened.push(path);
      return new DynamicRowStream(model.params, ids, 1, config.vocabSize, dynamic);
    };
    const first = streams.of('a.ts', open('a.ts'));
    assert.equal(streams.of('a.ts', open('a.ts')), first, 'the same file keeps its stream');
    const held = tf.memory().numTensors;
    const second = streams.of('b.ts', open('b.ts'));
    assert.notEqual(second, first);
    assert.equal(tf.memory().numTensors, held, "the previous file's evaluator is freed when the next file starts");
    assert.equal(second.row(1).length, config.vocabSize);
    assert.equal(streams.of('c.ts', () => undefined), undefined, 'a file without a stream');
    streams.dispose();
    assert.deepEqual(opened, ['a.ts', 'b.ts']);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });
});
