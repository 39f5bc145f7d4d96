import { strict as assert } from 'node:assert';
import { FileCacheModel } from '../../../../src/core/ngram/cacheModel';
import { Vocabulary } from '../../../../src/core/text/vocabulary';
import { seededRandom, totalProbability } from './helpers';

describe('FileCacheModel', () => {
  it('makes what the current file said likely again, and forgets it at the next file', () => {
    const vocabulary = new Vocabulary();
    const cache = new FileCacheModel(vocabulary, { smoothing: 'jm', jmLambda: 0.5 });
    const text = 'const subscription = source . subscribe ( ) ; subscription . unsubscribe ( )';
    const ids = vocabulary.internAll(text.split(' '));
    cache.startFile('a.ts');
    for (const id of ids) cache.observe(id);
    const context = vocabulary.internAll(['subscription', '.']);
    const unsubscribe = vocabulary.idOf('unsubscribe');
    assert.ok(cache.probability(context, unsubscribe) > 0.2);
    assert.equal(cache.predict(context, '', 1)[0].token, 'unsubscribe');

    cache.startFile('b.ts');
    assert.equal(cache.length, 0);
    const fresh = cache.distribution(context);
    assert.equal(fresh.matchedOrder, 0, 'a new file starts with an empty cache');
    assert.equal(fresh.probability(unsubscribe), fresh.escapeProbability);
  });

  it('sums to 1 over the vocabulary plus escape while it fills up', () => {
    const vocabulary = new Vocabulary();
    for (let i = 0; i < 30; i++) vocabulary.intern(`t${i}`);
    const cache = new FileCacheModel(vocabulary, { smoothing: 'mkn' });
    const random = seededRandom(3);
    const seen: number[] = [];
    for (let step = 0; step < 200; step++) {
      if (step % 20 === 0) {
        const total = totalProbability(cache.distribution(seen));
        assert.ok(Math.abs(total - 1) < 1e-6, `sum ${total} after ${step} tokens`);
      }
      const id = Math.floor(30 * random() * random());
      cache.observe(id);
      seen.push(id);
    }
  });

  it('learn sets the cached prefix of one file and forget of that file empties it', () => {
    const vocabulary = new Vocabulary();
    const cache = new FileCacheModel(vocabulary);
    cache.learn('a.ts', vocabulary.internAll(['x', 'y', 'x', 'y']));
    assert.equal(cache.length, 4);
    cache.forget('other.ts');
    assert.equal(cache.length, 4);
    cache.forget('a.ts');
    assert.equal(cache.length, 0);
  });
});
