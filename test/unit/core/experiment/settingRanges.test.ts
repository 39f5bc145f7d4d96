import * as assert from 'node:assert/strict';
import { MODEL_FIELD_RANGES, TRAINING_SETTING_RANGES, clampTrainingOverrides, isInRange } from '../../../../src/core/experiment/settingRanges';

describe('setting ranges', () => {
  it('move training overrides into the ranges a saved model is checked against, rounding counts', () => {
    const clamped = clampTrainingOverrides({ innerSteps: 0, innerLr: 50, alpha: 1e6, vocabSize: 1.6, hiddenSize: 64.4, seed: -3, metaBatch: 7 });
    assert.deepEqual(clamped, {
      innerSteps: TRAINING_SETTING_RANGES.innerSteps.min,
      innerLr: TRAINING_SETTING_RANGES.innerLr.max,
      alpha: TRAINING_SETTING_RANGES.alpha.max,
      vocabSize: 2,
      hiddenSize: 64,
      seed: 0,
      metaBatch: 7,
    });
    assert.ok(isInRange(clamped.innerSteps, TRAINING_SETTING_RANGES.innerSteps));
  });

  it('tell integers from fractions and refuse what is not a number', () => {
    assert.equal(isInRange(32, MODEL_FIELD_RANGES.dynamicSegment), true);
    for (const value of [0, 2.5, -1, Number.NaN, '32', 4097, null]) assert.equal(isInRange(value, MODEL_FIELD_RANGES.dynamicSegment), false, String(value));
    assert.equal(isInRange(0.5, MODEL_FIELD_RANGES.dynamicDecay), true);
  });
});
