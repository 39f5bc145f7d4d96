import * as assert from 'node:assert/strict';
import { hashString } from '../../../../src/core/graph/hashing';
import { WeightedMinHasher } from '../../../../src/core/graph/minHash';

/** Weighted (probability) Jaccard of two weight maps, the agreement rate P-MinHash estimates. */
function probabilityJaccard(a: Map<number, number>, b: Map<number, number>): number {
  const sumA = [...a.values()].reduce((s, w) => s + w, 0);
  const sumB = [...b.values()].reduce((s, w) => s + w, 0);
  let total = 0;
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = (a.get(key) ?? 0) / sumA;
    const y = (b.get(key) ?? 0) / sumB;
    if (x === 0 || y === 0) continue;
    let denominator = 0;
    for (const other of new Set([...a.keys(), ...b.keys()])) {
      denominator += Math.max((a.get(other) ?? 0) / sumA / x, (b.get(other) ?? 0) / sumB / y);
    }
    total += 1 / denominator;
  }
  return total;
}

function agreement(first: Uint32Array, second: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < first.length; i++) if (first[i] === second[i]) same++;
  return same / first.length;
}

describe('graph weighted MinHash', () => {
  const hasher = new WeightedMinHasher(256, 1, 3);
  const weightedSet = (names: string[], weightOf: (i: number) => number): Map<number, number> =>
    new Map(names.map((name, i) => [hashString(name, 3), weightOf(i)]));
  const signatureOf = (set: Map<number, number>): Uint32Array =>
    hasher.signature([...set.keys()], [...set.values()]) as Uint32Array;

  it('gives equal sets equal signatures and ignores features without weight', () => {
    const set = weightedSet(['a', 'b', 'c'], () => 1);
    const withZero = new Map([...set, [hashString('zero', 3), 0]]);
    assert.deepEqual(signatureOf(set), signatureOf(withZero));
    assert.equal(hasher.signature([1, 2], [0, 0]), undefined);
  });

  it('agrees on about as many slots as the weighted Jaccard similarity', () => {
    const names = Array.from({ length: 200 }, (_, i) => `name${i}`);
    const a = weightedSet(names.slice(0, 140), (i) => 1 + (i % 5));
    const b = weightedSet(names.slice(60), (i) => 1 + ((i * 3) % 7));
    const expected = probabilityJaccard(a, b);
    const measured = agreement(signatureOf(a), signatureOf(b));
    assert.ok(Math.abs(measured - expected) < 0.1, `measured ${measured}, expected ${expected}`);

    const disjoint = weightedSet(names.map((name) => `${name}!`), () => 1);
    assert.ok(agreement(signatureOf(a), signatureOf(disjoint)) < 0.02);
  });

  it('lets heavy features dominate: a shared heavy name outweighs many light differences', () => {
    const light = Array.from({ length: 50 }, (_, i) => `light${i}`);
    const a = weightedSet(['shared', ...light.map((n) => `${n}a`)], (i) => (i === 0 ? 200 : 1));
    const b = weightedSet(['shared', ...light.map((n) => `${n}b`)], (i) => (i === 0 ? 200 : 1));
    assert.ok(agreement(signatureOf(a), signatureOf(b)) > 0.5);
  });

  it('cuts signatures into one key per band and rejects sizes that do not divide', () => {
    const banded = new WeightedMinHasher(128, 4, 3);
    const signature = banded.signature([1, 2, 3], [1, 1, 1]) as Uint32Array;
    assert.equal(banded.bandKeys(signature).length, 32);
    assert.throws(() => new WeightedMinHasher(100, 3, 1), /multiple of rowsPerBand/);
  });
});
