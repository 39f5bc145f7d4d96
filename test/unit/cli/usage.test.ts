import * as assert from 'node:assert/strict';
import { integerOption, UsageError } from '../../../src/cli/usage';

describe('CLI integer options', () => {
  const range = { min: 1, max: 32, integer: true };

  it('take plain decimal integers within the range, and the fallback when absent', () => {
    assert.equal(integerOption('order', '16', range, 6), 16);
    assert.equal(integerOption('order', '32', range, 6), 32);
    assert.equal(integerOption('order', undefined, range, 6), 6);
  });

  it('refuse hex, exponents, fractions, signs, blanks and values out of range, naming the option and its range', () => {
    for (const text of ['0x10', '1e1', '4.0', '2.5', '+4', '-4', '', ' ', '0', '33', '0b11', 'Infinity', '1_0', '９']) {
      assert.throws(
        () => integerOption('order', text, range, 6),
        (error: unknown) => error instanceof UsageError && /^--order must be an integer from 1 to 32, written in decimal digits \(got ".*"\)$/.test(error.message),
        JSON.stringify(text),
      );
    }
  });

  it('quote a long bad value cut short', () => {
    assert.throws(() => integerOption('order', '9'.repeat(10_000), range, 6), (error: unknown) => error instanceof Error && error.message.length < 200);
  });
});
