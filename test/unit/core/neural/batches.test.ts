import { strict as assert } from 'node:assert';
import { countTokens, makeBatches, toClassIds, toTimeMajor, topKClasses, UNK_CLASS } from '../../../../src/core/neural/batches';

describe('LM batches', () => {
  it('cut the stream into lanes that continue from one batch to the next', () => {
    const ids = Array.from({ length: 25 }, (_, i) => i + 100);
    const batches = makeBatches(ids, { batchSize: 3, timeSteps: 4 });
    // 24 predictions over 3 lanes of 8 = 2 batches of 4 steps.
    assert.equal(batches.length, 2);
    for (let b = 0; b < 3; b++) {
      const lane: number[] = [];
      for (const batch of batches) lane.push(...batch.inputs.slice(b * 4, b * 4 + 4));
      assert.deepEqual(lane, Array.from({ length: 8 }, (_, i) => 100 + b * 8 + i), `lane ${b}`);
    }
    for (const batch of batches) {
      batch.inputs.forEach((input, i) => assert.equal(batch.targets[i], input + 1, 'target is the next token'));
    }
  });

  it('pad the ragged end with <unk> and mask it out, so every prediction counts once', () => {
    const ids = Array.from({ length: 12 }, (_, i) => i + 1);
    const batches = makeBatches(ids, { batchSize: 4, timeSteps: 2 });
    const total = batches.reduce((sum, batch) => sum + countTokens(batch), 0);
    assert.equal(total, 11);
    const seen = new Set<number>();
    for (const batch of batches) {
      batch.mask.forEach((m, i) => {
        if (m === 1) seen.add(batch.inputs[i]);
        else assert.equal(batch.inputs[i], UNK_CLASS);
      });
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), ids.slice(0, 11));
  });

  it('end with a batch no longer than its longest lane, so a short stream runs no padding-only steps', () => {
    // 17 predictions over 4 lanes of 5: one batch of 5 steps, not 8.
    const short = makeBatches(Array.from({ length: 18 }, (_, i) => i + 1), { batchSize: 4, timeSteps: 8 });
    assert.deepEqual(short.map((batch) => batch.timeSteps), [5]);
    assert.equal(short[0].inputs.length, 4 * 5);
    assert.equal(countTokens(short[0]), 17);
    // 39 predictions over 2 lanes of 20 at 8 steps: 8, 8, then 4.
    const long = makeBatches(Array.from({ length: 40 }, (_, i) => i + 1), { batchSize: 2, timeSteps: 8 });
    assert.deepEqual(long.map((batch) => batch.timeSteps), [8, 8, 4]);
    const lane1 = long.flatMap((batch) => Array.from(batch.inputs.slice(batch.timeSteps, 2 * batch.timeSteps)));
    assert.deepEqual(lane1.filter((id) => id !== UNK_CLASS), Array.from({ length: 19 }, (_, i) => 21 + i));
  });

  it('are empty for fewer than two tokens and reject a bad shape', () => {
    assert.deepEqual(makeBatches([5], { batchSize: 2, timeSteps: 3 }), []);
    assert.throws(() => makeBatches([1, 2, 3], { batchSize: 0, timeSteps: 3 }), /positive integers/);
  });

  it('topKClasses keeps the most frequent tokens and sends the rest to <unk>', () => {
    const counts = [5, 0, 9, 1, 9, 2];
    const classes = topKClasses(counts, 3);
    // 2 and 4 tie at 9 (lower id first), then 0.
    assert.deepEqual(Array.from(classes), [3, UNK_CLASS, 1, UNK_CLASS, 2, UNK_CLASS]);
    assert.deepEqual(Array.from(toClassIds([4, 1, 0, 99, -1], classes)), [2, UNK_CLASS, 3, UNK_CLASS, UNK_CLASS]);
  });

  it('toTimeMajor transposes [batch, time] to [time, batch]', () => {
    assert.deepEqual(Array.from(toTimeMajor(Int32Array.from([1, 2, 3, 4, 5, 6]), 2, 3)), [1, 4, 2, 5, 3, 6]);
  });
});
