import * as assert from 'node:assert/strict';
import { CompletionEngine } from '../../../../src/core/engine/completionEngine';
import type { EngineIndexState } from '../../../../src/core/engine/completionEngine';

const encode = (text: string) => new TextEncoder().encode(text);

function workspace(engine: CompletionEngine): void {
  for (let i = 0; i < 6; i++) {
    engine.updateFile(
      `src/ledger/account${i}.ts`,
      encode(`import { quorvexLedger } from './quorvex';\nexport function post${i}(amount: number) {\n  return quorvexLedger.settleBalance(amount, ${i});\n}\n`),
      `${100 + i}:1700000000${i}`,
    );
  }
  engine.updateFile('src/util/strings.ts', encode('export function pad(text: string) {\n  return text.padStart(4);\n}\n'));
  engine.updateFile('src/util/dropped.ts', encode('const vanishingName = 1;'));
  engine.removeFile('src/util/dropped.ts');
}

const contexts: [string, string][] = [
  ['src/ledger/new.ts', 'export function fresh(amount: number) {\n  return quorvexLedger.sett'],
  ['src/ledger/new.ts', 'function f() {\n  return quorvexLedger.'],
  ['src/util/other.ts', 'export function '],
  ['src/x.ts', 'import { '],
];

function completionsOf(engine: CompletionEngine) {
  return contexts.map(([path, text]) => engine.complete(path, text, 5));
}

describe('CompletionEngine state export and import', () => {
  it('gives the same completions, counts and graph after an import into a fresh engine', () => {
    const original = new CompletionEngine();
    workspace(original);
    const state = original.exportState();
    assert.equal(state.files.length, 7);
    // Forgotten tokens stay in the vocabulary, as they do in a running engine: its size enters the smoothing.
    assert.ok(state.vocabulary.includes('vanishingName'));
    assert.equal(state.files.find((file) => file.path === 'src/ledger/account3.ts')?.stamp, '103:17000000003');
    assert.equal(state.files.find((file) => file.path === 'src/util/strings.ts')?.stamp, undefined);

    const restored = new CompletionEngine();
    assert.deepEqual(restored.importState(state), { files: 7, tokens: original.stats().tokens });
    assert.deepEqual(completionsOf(restored), completionsOf(original));
    assert.deepEqual(restored.stats(), original.stats());
    assert.deepEqual(restored.snapshot().nodes.map((node) => node.id).sort(), original.snapshot().nodes.map((node) => node.id).sort());
    // Both saw the same requests since: their exports agree, so nothing was lost on the way.
    assert.deepEqual(restored.exportState(), original.exportState());
  });

  it('keeps working incrementally after an import: updates and removals behave as before', () => {
    const original = new CompletionEngine();
    workspace(original);
    const restored = new CompletionEngine();
    restored.importState(original.exportState());
    for (const engine of [original, restored]) {
      engine.updateFile('src/ledger/account0.ts', encode('export const zorblatRate = quorvexLedger.zorblat();\n'));
      engine.removeFile('src/ledger/account5.ts');
    }
    assert.deepEqual(completionsOf(restored), completionsOf(original));
    assert.deepEqual(restored.complete('a.ts', 'zorb', 3), original.complete('a.ts', 'zorb', 3));
    assert.equal(restored.stats().files, 6);
  });

  it('merges into an engine that already knows files, replacing the same paths', () => {
    const source = new CompletionEngine();
    workspace(source);
    const target = new CompletionEngine();
    target.updateFile('src/ledger/account0.ts', encode('const staleContent = 1;'));
    target.updateFile('src/keep.ts', encode('const keptAlive = 2;'));
    target.importState(source.exportState());
    assert.equal(target.stats().files, 8);
    assert.ok(!target.complete('a.ts', 'staleC', 3).suggestions.some((s) => s.token === 'staleContent'));
    assert.ok(target.complete('a.ts', 'keptA', 3).suggestions.some((s) => s.token === 'keptAlive'));
  });

  it('refuses an inconsistent state and changes nothing', () => {
    const engine = new CompletionEngine();
    engine.updateFile('a.ts', encode('const stillHere = 1;'));
    const bad: EngineIndexState[] = [
      { vocabulary: ['x'], files: [{ path: 'b.ts', tokens: Int32Array.of(0, 1) }] },
      { vocabulary: ['x'], files: [{ path: 'b.ts', tokens: Int32Array.of(0) }, { path: 'b.ts', tokens: Int32Array.of(0) }] },
      { vocabulary: ['x'], files: [{ path: 'b.ts', tokens: new Int32Array(0) }] },
    ];
    for (const state of bad) assert.throws(() => engine.importState(state), /saved index/);
    assert.equal(engine.stats().files, 1);
    assert.ok(engine.complete('c.ts', 'still', 3).suggestions.some((s) => s.token === 'stillHere'));
  });
});
