import * as assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, MAX_FILE_SIZE_KB, readSettings } from '../../../src/host/settings';

describe('settings', () => {
  it('gives the defaults when nothing is set', () => {
    assert.deepEqual(readSettings(() => undefined), DEFAULT_SETTINGS);
  });

  it('maps each setting key to its typed field', () => {
    const values: Record<string, unknown> = {
      'completions.enabled': false,
      'inlineCompletions.enabled': false,
      maxFileSizeKB: 64,
      include: ['src/**/*.py'],
      exclude: ['**/gen/**'],
      debounceMs: 120,
    };
    assert.deepEqual(readSettings((key) => values[key]), {
      completionsEnabled: false,
      inlineCompletionsEnabled: false,
      maxFileSizeKB: 64,
      include: ['src/**/*.py'],
      exclude: ['**/gen/**'],
      debounceMs: 120,
    });
  });

  it('falls back or clamps when a hand-edited value is wrong', () => {
    const values: Record<string, unknown> = {
      'completions.enabled': 'yes', maxFileSizeKB: 1e9, include: [], exclude: ['ok', 3, ''], debounceMs: -5,
    };
    const settings = readSettings((key) => values[key]);
    assert.equal(settings.completionsEnabled, true);
    assert.equal(settings.maxFileSizeKB, MAX_FILE_SIZE_KB);
    assert.deepEqual(settings.include, DEFAULT_SETTINGS.include);
    assert.deepEqual(settings.exclude, ['ok']);
    assert.equal(settings.debounceMs, 0);
  });
});
