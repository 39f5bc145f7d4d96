import * as assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

// The extension host loads dist/extension.js at every VS Code start: TensorFlow.js
// (about 1 MB) belongs to the worker and the training thread, never to the host.
const HOST_BUNDLE = join(__dirname, '../../../../dist/extension.js');
const MAX_HOST_BUNDLE_BYTES = 300 * 1024;

describe('host bundle', () => {
  it('carries no TensorFlow.js and stays under 300 KB, so activation stays fast', () => {
    const text = readFileSync(HOST_BUNDLE, 'utf8');
    assert.doesNotMatch(text, /node_modules\/@tensorflow\//, 'the host bundle includes TensorFlow.js');
    const bytes = statSync(HOST_BUNDLE).size;
    assert.ok(bytes < MAX_HOST_BUNDLE_BYTES, `dist/extension.js is ${bytes} bytes`);
  });
});
