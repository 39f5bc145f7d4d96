import { strict as assert } from 'node:assert';
import { END_OF_FILE, NgramModel } from '../../../../src/core/ngram/ngramModel';
import type { NgramModelOptions } from '../../../../src/core/ngram/ngramModel';
import { Vocabulary } from '../../../../src/core/text/vocabulary';
import { randomFiles, seededRandom, totalProbability } from './helpers';

function trainedModel(options: NgramModelOptions, seed = 1): { model: NgramModel; vocabulary: Vocabulary } {
  const vocabulary = new Vocabulary();
  const model = new NgramModel(vocabulary, options);
  for (const [i, file] of randomFiles(20, 200, 50, seed).entries()) {
    model.learn(`f${i}`, vocabulary.internAll(file.map((id) => `t${id}`)));
  }
  return { model, vocabulary };
}

const smoothings: [string, NgramModelOptions][] = [
  ['Jelinek-Mercer with per-context (Witten-Bell) λ', { smoothing: 'jm', jmLambda: 'witten-bell' }],
  ['Jelinek-Mercer with SLP-Core’s fixed λ = 0.5', { smoothing: 'jm', jmLambda: 0.5 }],
  ['modified Kneser-Ney', { smoothing: 'mkn' }],
  ['modified Kneser-Ney of order 3', { smoothing: 'mkn', order: 3 }],
  ['modified Kneser-Ney of order 1', { smoothing: 'mkn', order: 1 }],
];

describe('NgramModel', () => {
  for (const [name, options] of smoothings) {
    it(`${name}: sums to 1 over the vocabulary plus escape at random contexts`, () => {
      const { model, vocabulary } = trainedModel(options);
      const random = seededRandom(42);
      for (let trial = 0; trial < 25; trial++) {
        const length = Math.floor(random() * 9);
        // Ids beyond the vocabulary stand for tokens the model has never seen.
        const context = Array.from({ length }, () => Math.floor(random() * (vocabulary.size + 5)));
        const total = totalProbability(model.distribution(context));
        assert.ok(Math.abs(total - 1) < 1e-6, `sum ${total} at context ${context.join(' ')}`);
      }
    });
  }

  it('stays normalised after forgetting files, and an empty model is uniform', () => {
    const { model } = trainedModel({ smoothing: 'mkn' });
    for (let i = 0; i < 20; i += 2) model.forget(`f${i}`);
    assert.ok(Math.abs(totalProbability(model.distribution([3, 4])) - 1) < 1e-6);
    for (let i = 1; i < 20; i += 2) model.forget(`f${i}`);
    const empty = model.distribution([]);
    assert.ok(Math.abs(totalProbability(empty) - 1) < 1e-9);
    assert.equal(empty.probability(0), empty.escapeProbability);
  });

  it('gives a token it has never seen exactly the escape probability', () => {
    const { model, vocabulary } = trainedModel({ smoothing: 'mkn' });
    const distribution = model.distribution([vocabulary.idOf('t1'), vocabulary.idOf('t2')]);
    assert.equal(distribution.probability(-1), distribution.escapeProbability);
    assert.equal(distribution.probability(vocabulary.size + 3), distribution.escapeProbability);
    assert.ok(distribution.escapeProbability > 0);
  });

  it('computes SLP-Core’s Jelinek-Mercer by hand on a unigram model', () => {
    const vocabulary = new Vocabulary();
    const model = new NgramModel(vocabulary, { order: 1, smoothing: 'jm', jmLambda: 0.5 });
    model.learn('a', vocabulary.internAll(['x', 'y', 'x']));
    // Counts x:2 y:1 <eof>:1; vocabulary x, y, <eof> plus the escape slot.
    const distribution = model.distribution([]);
    assert.ok(Math.abs(distribution.probability(vocabulary.idOf('x')) - (0.5 * 2) / 4 - 0.5 / 4) < 1e-12);
    assert.ok(Math.abs(distribution.probability(vocabulary.idOf(END_OF_FILE)) - (0.5 * 1) / 4 - 0.5 / 4) < 1e-12);
    assert.ok(Math.abs(distribution.escapeProbability - 0.5 / 4) < 1e-12);
  });

  it('re-estimates Kneser-Ney discounts when the counts change', () => {
    const { model } = trainedModel({ smoothing: 'mkn' });
    const before = Array.from(model.discountsFor(2, false));
    model.learn('more', randomFiles(1, 400, 50, 99)[0]);
    const after = Array.from(model.discountsFor(2, false));
    assert.notDeepEqual(after, before);
    for (const discount of after.slice(1)) assert.ok(discount > 0 && discount < 3);
  });

  it('prefers the continuation seen after a long context', () => {
    const vocabulary = new Vocabulary();
    const model = new NgramModel(vocabulary, { smoothing: 'mkn' });
    const ids = (text: string): Int32Array => vocabulary.internAll(text.split(' '));
    model.learn('a', ids('import { map } from rxjs ; map ( x )'));
    model.learn('b', ids('import { filter } from rxjs ; filter ( y )'));
    const distribution = model.distribution(ids('import { map } from'));
    const rxjs = distribution.probability(vocabulary.idOf('rxjs'));
    for (const other of ['map', 'filter', '(', 'import']) {
      assert.ok(rxjs > distribution.probability(vocabulary.idOf(other)));
    }
  });

  it('predicts only tokens that start with the typed prefix, most probable first', () => {
    const vocabulary = new Vocabulary();
    const model = new NgramModel(vocabulary, { smoothing: 'mkn' });
    const text =
      'this . subscriber . next ( value ) ; this . subject . next ( value ) ; this . subscriber . error ( e )';
    model.learn('a', vocabulary.internAll(text.split(' ')));
    const context = vocabulary.internAll(['this', '.']);
    const predictions = model.predict(context, 'sub', 10);
    assert.deepEqual(
      predictions.map((prediction) => prediction.token),
      ['subscriber', 'subject'],
    );
    for (const prediction of predictions) {
      assert.equal(prediction.probability, model.probability(context, prediction.id));
    }
    const all = model.predict(context, '', 5);
    assert.equal(all.length, 5);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].probability >= all[i].probability);
    assert.deepEqual(model.predict(context, 'zzz', 5), []);
  });

  it('learns a file as it is typed and forgets it exactly', () => {
    const { model, vocabulary } = trainedModel({ smoothing: 'mkn' });
    const before = model.trie.countState();
    for (const token of ['t1', 't2', 't3']) model.extend('typing', vocabulary.intern(token));
    assert.notDeepEqual(model.trie.countState(), before);
    model.forget('typing');
    assert.deepEqual(model.trie.countState(), before);
  });
});
