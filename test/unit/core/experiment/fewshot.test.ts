import * as assert from 'node:assert/strict';
import { GATE_NGRAM_TOKEN_BUDGET, GATE_TOKEN_BUDGET, gateFilesOf, gateKnownFilesOf } from '../../../../src/core/experiment/fewshot';

/** `count` files of `tokens` tokens each, in path order, fifty to a folder. */
function files(count: number, tokens: number): { relPath: string; tokens: string[] }[] {
  const padded = (n: number): string => String(n).padStart(5, '0');
  return Array.from({ length: count }, (_, i) => ({ relPath: `src/d${padded(Math.floor(i / 50))}/f${padded(i)}.ts`, tokens: new Array<string>(tokens).fill('x') }));
}

const tokensOf = (list: readonly { tokens: readonly unknown[] }[]): number => list.reduce((sum, file) => sum + file.tokens.length, 0);

describe('the gate budget of a training run', () => {
  it('fits the gate on every held-out file of a workspace the size of rxjs (6,871 held-out tokens)', () => {
    const heldOut = files(31, 222);
    assert.deepEqual(gateFilesOf(heldOut, GATE_TOKEN_BUDGET, 1), heldOut);
    const all = files(251, 250);
    assert.deepEqual(gateKnownFilesOf(all, heldOut.slice(0, 3), GATE_NGRAM_TOKEN_BUDGET), all);
  });

  it('fits it on at most its token budget of a 10,000-file workspace, the same files for the same seed', () => {
    const heldOut = files(1250, 200);
    const chosen = gateFilesOf(heldOut, GATE_TOKEN_BUDGET, 1);
    assert.ok(tokensOf(chosen) <= GATE_TOKEN_BUDGET && tokensOf(chosen) > GATE_TOKEN_BUDGET - 200, `${tokensOf(chosen)} tokens`);
    assert.deepEqual(gateFilesOf(heldOut, GATE_TOKEN_BUDGET, 1), chosen);
    assert.notDeepEqual(gateFilesOf(heldOut, GATE_TOKEN_BUDGET, 2), chosen);
    // Spread over the workspace, not its first files.
    assert.ok(heldOut.indexOf(chosen[chosen.length - 1]) > heldOut.length / 2);
  });

  it('keeps one held-out file even when that file alone is over the budget', () => {
    assert.equal(gateFilesOf(files(3, GATE_TOKEN_BUDGET * 2), GATE_TOKEN_BUDGET, 1).length, 1);
  });

  it("counts the held-out files and their path-order neighbours into the gate's n-gram, up to its budget", () => {
    const all = files(10_000, 172);
    const targets = [all[100], all[5000]];
    const known = gateKnownFilesOf(all, targets, GATE_NGRAM_TOKEN_BUDGET);
    assert.ok(tokensOf(known) <= GATE_NGRAM_TOKEN_BUDGET && tokensOf(known) > GATE_NGRAM_TOKEN_BUDGET - 2 * 172, `${tokensOf(known)} tokens`);
    for (const target of targets) assert.ok(known.includes(target));
    for (const near of [all[99], all[101], all[4999], all[5001]]) assert.ok(known.includes(near), near.relPath);
    assert.ok(!known.includes(all[2500]));
  });
});
