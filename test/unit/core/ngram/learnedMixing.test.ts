import { strict as assert } from 'node:assert';
import { LearnedMixing, MixingSamples, fitMixing } from '../../../../src/core/ngram/learnedMixing';
import { MixtureDistribution, contextClassOf, inverseConfidenceWeights } from '../../../../src/core/ngram/mixture';
import type { TokenDistribution } from '../../../../src/core/ngram/tokenModel';

/** A distribution over ids 0..3 and escape that puts `mass` on `favourite` and spreads the rest. */
function fakeDistribution(favourite: number, mass: number, matchedOrder: number): TokenDistribution {
  const rest = (1 - mass) / 5;
  return {
    vocabularySize: 4,
    escapeProbability: rest,
    confidence: 1 - Math.pow(2, -matchedOrder),
    matchedOrder,
    contextCount: 10,
    contextDistinct: 3,
    probability: (token) => (token === favourite ? mass + rest : rest),
    collectCandidates: (_prefix, _limit, into) => {
      into.add(favourite);
    },
  };
}

describe('mixing', () => {
  it('fits most weight to the level that is right, and its weights sum to 1', () => {
    const samples = new MixingSamples(6);
    for (let t = 0; t < 400; t++) {
      const truth = t % 4;
      const right = fakeDistribution(truth, 0.7, 3);
      const wrong = fakeDistribution((truth + 1) % 4, 0.7, 3);
      samples.record([right, wrong], ['cache', 'project'], 2, truth);
    }
    const parameters = fitMixing(samples, { iterations: 200 });
    const mixing = new LearnedMixing(parameters);
    const weights = mixing.weigh([fakeDistribution(0, 0.7, 3), fakeDistribution(1, 0.7, 3)], ['cache', 'project'], 2);
    assert.ok(weights[0] > 0.9, `cache weight ${weights[0]}`);
    assert.ok(Math.abs(weights[0] + weights[1] - 1) < 1e-12);
  });

  it('gives no weight to an empty level', () => {
    const mixing = new LearnedMixing({ order: 6, kinds: {} });
    const weights = mixing.weigh([fakeDistribution(0, 0.5, 0), fakeDistribution(1, 0.5, 2)], ['cache', 'project'], 0);
    assert.deepEqual(Array.from(weights), [0, 1]);
    const slpWeights = inverseConfidenceWeights([fakeDistribution(0, 0.5, 0), fakeDistribution(1, 0.5, 2)]);
    assert.deepEqual(Array.from(slpWeights), [0, 1]);
  });

  it('mixes like SLP-Core: weights 1/(1 - confidence), folded from the least local level', () => {
    const local = fakeDistribution(0, 0.5, 1); // confidence 0.5 → weight 2
    const global = fakeDistribution(1, 0.5, 2); // confidence 0.75 → weight 4
    const weights = inverseConfidenceWeights([local, global]);
    assert.ok(Math.abs(weights[0] - 2 / 6) < 1e-12);
    const mixture = new MixtureDistribution([local, global], weights);
    let total = mixture.escapeProbability;
    for (let id = 0; id < 4; id++) total += mixture.probability(id);
    assert.ok(Math.abs(total - 1) < 1e-12);
  });

  it('classifies the token before the cursor', () => {
    assert.equal(contextClassOf(undefined), 0);
    assert.equal(contextClassOf('.'), 1);
    assert.equal(contextClassOf('subscriber'), 2);
    assert.equal(contextClassOf('('), 3);
    assert.equal(contextClassOf(';'), 4);
    assert.equal(contextClassOf("'text'"), 5);
    assert.equal(contextClassOf('=>'), 6);
  });
});
