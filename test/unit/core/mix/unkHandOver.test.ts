import { strict as assert } from 'node:assert';
import { classMapOf, UnkHandOver } from '../../../../src/core/mix/unkHandOver';
import { topKClasses, UNK_CLASS } from '../../../../src/core/neural/batches';
import { NgramModel } from '../../../../src/core/ngram/ngramModel';
import type { TokenDistribution } from '../../../../src/core/ngram/tokenModel';
import { Vocabulary } from '../../../../src/core/text/vocabulary';
import { seededRandom, totalProbability } from '../ngram/helpers';

/** A fixed n-gram-like distribution: `probabilities[id]` plus an escape slot. */
function tableDistribution(probabilities: Float64Array, escapeProbability: number): TokenDistribution {
  return {
    vocabularySize: probabilities.length,
    escapeProbability,
    confidence: 0.5,
    matchedOrder: 2,
    contextCount: 7,
    contextDistinct: 3,
    probability: (id) => (id >= 0 && id < probabilities.length ? probabilities[id] : escapeProbability),
    collectCandidates: () => undefined,
  };
}

/** Random normalised n-gram table over `size` ids + escape, skewed like code. */
function randomNgram(size: number, random: () => number): TokenDistribution {
  const weights = Float64Array.from({ length: size + 1 }, () => random() ** 3);
  const total = weights.reduce((a, b) => a + b, 0);
  return tableDistribution(weights.subarray(0, size).map((w) => w / total), weights[size] / total);
}

function randomSoftmax(size: number, random: () => number): Float32Array {
  const logits = Array.from({ length: size }, () => 4 * random());
  const total = logits.reduce((sum, logit) => sum + Math.exp(logit), 0);
  return Float32Array.from(logits, (logit) => Math.exp(logit) / total);
}

function vocabularyOf(size: number): Vocabulary {
  const vocabulary = new Vocabulary();
  for (let i = 0; i < size; i++) vocabulary.intern(`t${i}`);
  return vocabulary;
}

describe('UnkHandOver', () => {
  const size = 60;
  const vocabulary = vocabularyOf(size);

  function randomCase(seed: number) {
    const random = seededRandom(seed);
    const counts = Array.from({ length: size }, () => Math.floor(100 * random() * random()));
    const classes = classMapOf(topKClasses(counts, 12));
    const ngram = randomNgram(size, random);
    const classProbabilities = randomSoftmax(classes.tokenOfClass.length, random);
    return { classes, ngram, classProbabilities, handOver: new UnkHandOver(classProbabilities, ngram, classes, vocabulary) };
  }

  it('sums to 1 over every token id plus escape for random inputs', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const total = totalProbability(randomCase(seed).handOver);
      assert.ok(Math.abs(total - 1) < 1e-6, `seed ${seed}: sum ${total}`);
    }
  });

  it('gives a token the LSTM knows exactly its class probability', () => {
    const { classes, classProbabilities, handOver } = randomCase(5);
    const sum = classProbabilities.reduce((a, b) => a + b, 0);
    for (let c = 1; c < classes.tokenOfClass.length; c++) {
      const token = classes.tokenOfClass[c];
      assert.equal(handOver.probability(token), classProbabilities[c] / sum);
      assert.ok(Math.abs(handOver.probability(token) - classProbabilities[c]) < 1e-6 * classProbabilities[c]);
    }
  });

  it('shares p(<unk>) over the other tokens and escape in the n-gram ratios', () => {
    const { classes, ngram, classProbabilities, handOver } = randomCase(9);
    const outOfClass = Array.from({ length: size }, (_, id) => id).filter((id) => classes.classOfToken[id] === UNK_CLASS);
    assert.ok(outOfClass.length > 10);
    const [first, ...rest] = outOfClass;
    for (const id of rest) {
      const expected = ngram.probability(id) / ngram.probability(first);
      assert.ok(Math.abs(handOver.probability(id) / handOver.probability(first) - expected) < 1e-9 * expected);
    }
    const escapeRatio = handOver.escapeProbability / handOver.probability(first);
    assert.ok(Math.abs(escapeRatio - ngram.escapeProbability / ngram.probability(first)) < 1e-9 * escapeRatio);
    assert.equal(handOver.probability(-1), handOver.escapeProbability, 'an unknown token gets the escape slot');
    const shared = outOfClass.reduce((sum, id) => sum + handOver.probability(id), handOver.escapeProbability);
    assert.ok(Math.abs(shared - classProbabilities[UNK_CLASS]) < 1e-6, 'the out-of-class tokens share exactly p(<unk>)');
  });

  it('falls back to a uniform share when the n-gram leaves nothing outside the classes', () => {
    const classes = classMapOf(topKClasses([5, 4, 3, 0, 0, 0, 0, 0], 3));
    const ngram = tableDistribution(Float64Array.of(0.5, 0.3, 0.2, 0, 0, 0, 0, 0), 0);
    const classProbabilities = Float32Array.of(0.2, 0.4, 0.3, 0.1);
    const handOver = new UnkHandOver(classProbabilities, ngram, classes, vocabularyOf(8));
    for (let id = 3; id < 8; id++) assert.ok(Math.abs(handOver.probability(id) - 0.2 / 6) < 1e-9);
    assert.ok(Math.abs(handOver.escapeProbability - 0.2 / 6) < 1e-9);
    assert.ok(Math.abs(totalProbability(handOver) - 1) < 1e-6);
  });

  it('works on a real n-gram model and proposes both models’ candidates', () => {
    const words = 'const x = foo ( a , b ) ; const y = bar ( x ) ; let z = foo ( y , x ) ;'.split(' ');
    const real = new Vocabulary();
    const ids = real.internAll(words);
    const model = new NgramModel(real, { order: 3, smoothing: 'jm' });
    model.learn('a.ts', ids);
    const counts = new Array<number>(real.size).fill(0);
    for (const id of ids) counts[id]++;
    const classes = classMapOf(topKClasses(counts, 4));
    const classProbabilities = new Float32Array(classes.tokenOfClass.length).fill(0.1);
    classProbabilities[2] = 1 - 0.1 * (classProbabilities.length - 1);
    const handOver = new UnkHandOver(classProbabilities, model.distribution(real.internAll(['foo', '('])), classes, real);
    assert.ok(Math.abs(totalProbability(handOver) - 1) < 1e-6);

    const candidates = new Set<number>();
    handOver.collectCandidates('', 2, candidates);
    assert.ok(candidates.has(classes.tokenOfClass[2]), 'the LSTM’s favourite class is proposed');
    assert.ok(candidates.has(real.idOf('a')) || candidates.has(real.idOf('y')), 'the n-gram’s successors are proposed');
    const prefixed = new Set<number>();
    handOver.collectCandidates('y', 5, prefixed);
    for (const id of prefixed) assert.ok(real.tokenOf(id).startsWith('y'));
  });

  it('refuses an LSTM output that does not match the class map', () => {
    const { classes, ngram } = randomCase(2);
    assert.throws(() => new UnkHandOver(new Float32Array(3).fill(1 / 3), ngram, classes, vocabulary), /class map/);
  });
});
