import { strict as assert } from 'node:assert';
import {
  fitGate,
  GATE_FEATURE_COUNT,
  gateFeatures,
  gateLogLoss,
  gateSample,
  LogisticGate,
} from '../../../../src/core/mix/gate';
import type { GateSample } from '../../../../src/core/mix/gate';
import { classMapOf, UnkHandOver } from '../../../../src/core/mix/unkHandOver';
import type { NeuralSummary } from '../../../../src/core/mix/unkHandOver';
import { topKClasses } from '../../../../src/core/neural/batches';
import type { TokenDistribution } from '../../../../src/core/ngram/tokenModel';
import { Vocabulary } from '../../../../src/core/text/vocabulary';
import { seededRandom, totalProbability } from '../ngram/helpers';

const ORDER = 6;

/** An n-gram stand-in with chosen context statistics; only they feed the gate. */
function ngramWith(stats: Partial<TokenDistribution>, probabilities = new Float64Array(0), escape = 1): TokenDistribution {
  return {
    vocabularySize: probabilities.length,
    escapeProbability: escape,
    confidence: 0,
    matchedOrder: 0,
    contextCount: 0,
    contextDistinct: 0,
    probability: (id) => (id >= 0 && id < probabilities.length ? probabilities[id] : escape),
    collectCandidates: () => undefined,
    ...stats,
  };
}

/**
 * Positions where the LSTM is right in rare contexts (n-gram count < 20) and
 * the n-gram is right in frequent ones; every other feature is noise.
 */
function syntheticSamples(count: number, seed: number): { samples: GateSample[]; rare: boolean[] } {
  const random = seededRandom(seed);
  const samples: GateSample[] = [];
  const rare: boolean[] = [];
  for (let i = 0; i < count; i++) {
    const contextCount = Math.floor(Math.exp(7 * random())) - 1;
    const ngram = ngramWith({
      confidence: random(),
      contextCount,
      contextDistinct: Math.min(contextCount, Math.floor(10 * random())),
      matchedOrder: 1 + Math.floor(ORDER * random()),
      escapeProbability: 0.1 * random(),
    });
    const summary: NeuralSummary = { maxProbability: random(), unknownProbability: 0.2 * random(), entropy: 3 * random() };
    const isRare = contextCount < 20;
    const good = 0.5 + 0.3 * random();
    const bad = 0.02 + 0.05 * random();
    samples.push({
      features: gateFeatures(ngram, summary, ORDER),
      neuralProbability: isRare ? good : bad,
      ngramProbability: isRare ? bad : good,
    });
    rare.push(isRare);
  }
  return { samples, rare };
}

describe('meta-level gate', () => {
  it('mixes into a distribution that sums to 1, with weight g on the neural side', () => {
    const random = seededRandom(4);
    const size = 40;
    const vocabulary = new Vocabulary();
    for (let i = 0; i < size; i++) vocabulary.intern(`t${i}`);
    const classes = classMapOf(topKClasses(Array.from({ length: size }, () => Math.floor(50 * random())), 10));
    for (let trial = 0; trial < 10; trial++) {
      const raw = Float64Array.from({ length: size + 1 }, () => random() ** 2);
      const total = raw.reduce((a, b) => a + b, 0);
      const ngram = ngramWith(
        { confidence: random(), contextCount: Math.floor(100 * random()), contextDistinct: 3, matchedOrder: 3 },
        raw.subarray(0, size).map((p) => p / total),
        raw[size] / total,
      );
      const logits = Array.from({ length: classes.tokenOfClass.length }, () => Math.exp(3 * random()));
      const sum = logits.reduce((a, b) => a + b, 0);
      const neural = new UnkHandOver(Float32Array.from(logits, (l) => l / sum), ngram, classes, vocabulary);
      const gate = new LogisticGate({
        order: ORDER,
        weights: Array.from({ length: GATE_FEATURE_COUNT }, () => 4 * random() - 2),
        bias: random() - 0.5,
      });
      const mixture = gate.mix(neural, ngram, neural.summary);
      assert.ok(Math.abs(totalProbability(mixture) - 1) < 1e-6, `trial ${trial}`);
      const g = mixture.gate;
      assert.ok(g > 0 && g < 1);
      const expected = g * neural.probability(7) + (1 - g) * ngram.probability(7);
      assert.ok(Math.abs(mixture.probability(7) - expected) < 1e-12);
    }
  });

  it('learns to trust the LSTM in rare contexts and the n-gram in frequent ones, beating any fixed mix', () => {
    const train = syntheticSamples(2000, 11).samples;
    const { samples: heldOut, rare } = syntheticSamples(1000, 12);
    const gate = new LogisticGate(fitGate(train, { order: ORDER }));

    const meanGate = (wantRare: boolean): number => {
      const gates = heldOut.filter((_, i) => rare[i] === wantRare).map((s) => gate.gateOf(s.features));
      return gates.reduce((a, b) => a + b, 0) / gates.length;
    };
    assert.ok(meanGate(true) > 0.8, `mean g in rare contexts ${meanGate(true)}`);
    assert.ok(meanGate(false) < 0.2, `mean g in frequent contexts ${meanGate(false)}`);

    const fitted = gateLogLoss(heldOut, (s) => gate.gateOf(s.features));
    const neuralOnly = gateLogLoss(heldOut, () => 1);
    const ngramOnly = gateLogLoss(heldOut, () => 0);
    let bestFixed = Infinity;
    for (let step = 0; step <= 100; step++) bestFixed = Math.min(bestFixed, gateLogLoss(heldOut, () => step / 100));
    assert.ok(fitted < neuralOnly && fitted < ngramOnly);
    assert.ok(fitted < bestFixed - 0.3, `fitted ${fitted} nats against the best fixed g's ${bestFixed}`);
  });

  it('fits the same gate twice from the same samples', () => {
    const { samples } = syntheticSamples(500, 3);
    assert.deepEqual(fitGate(samples, { order: ORDER }), fitGate(samples, { order: ORDER }));
  });

  it('never returns NaN for extreme features, and fits on extreme samples', () => {
    const extremes: TokenDistribution[] = [
      ngramWith({}),
      ngramWith({ confidence: 0.999999, contextCount: 1e12, contextDistinct: 1, matchedOrder: ORDER, escapeProbability: 0 }),
      ngramWith({ contextCount: Infinity, contextDistinct: NaN, matchedOrder: 99, escapeProbability: 1 }),
    ];
    const summaries: NeuralSummary[] = [
      { maxProbability: 1, unknownProbability: 0, entropy: 0 },
      { maxProbability: 0, unknownProbability: 1, entropy: Infinity },
      { maxProbability: NaN, unknownProbability: NaN, entropy: NaN },
    ];
    const { samples } = syntheticSamples(200, 8);
    for (const ngram of extremes) {
      for (const summary of summaries) {
        samples.push({ features: gateFeatures(ngram, summary, 0), neuralProbability: 0, ngramProbability: 1 });
        samples.push({ features: gateFeatures(ngram, summary, ORDER), neuralProbability: 1, ngramProbability: 0 });
      }
    }
    const fitted = fitGate(samples, { order: ORDER });
    assert.ok(fitted.weights.every(Number.isFinite) && Number.isFinite(fitted.bias));
    const gates = [
      new LogisticGate(fitted),
      new LogisticGate({ order: ORDER, weights: new Array<number>(GATE_FEATURE_COUNT).fill(1e3), bias: -1e3 }),
      new LogisticGate({ order: ORDER, weights: new Array<number>(GATE_FEATURE_COUNT).fill(-1e3), bias: 1e3 }),
    ];
    for (const gate of gates) {
      for (const ngram of extremes) {
        for (const summary of summaries) {
          const g = gate.gateOf(gateFeatures(ngram, summary, ORDER));
          assert.ok(g >= 0 && g <= 1, `g = ${g}`);
          const mixture = gate.mix(ngram, ngram, summary);
          assert.ok(Number.isFinite(mixture.escapeProbability));
        }
      }
    }
    assert.throws(() => new LogisticGate({ order: ORDER, weights: [NaN], bias: 0 }), /refit/);
  });

  it('records a sample with both models’ probabilities of the true token', () => {
    const ngram = ngramWith({ contextCount: 3, matchedOrder: 2 }, Float64Array.of(0.5, 0.25), 0.25);
    const neural = ngramWith({}, Float64Array.of(0.1, 0.8), 0.1);
    const sample = gateSample(neural, ngram, { maxProbability: 0.8, unknownProbability: 0.1, entropy: 0.6 }, ORDER, 1);
    assert.equal(sample.neuralProbability, 0.8);
    assert.equal(sample.ngramProbability, 0.25);
    assert.equal(sample.features[1], Math.log1p(3));
  });
});
