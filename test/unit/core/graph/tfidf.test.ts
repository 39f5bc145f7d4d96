import * as assert from 'node:assert/strict';
import {
  FeatureIndex,
  MAX_FEATURE_LENGTH,
  cosineSimilarity,
  inverseDocumentFrequency,
  isFeatureToken,
} from '../../../../src/core/graph/tfidf';

describe('graph tfidf', () => {
  it('treats identifiers, keywords and string literals as features, not numbers or punctuation', () => {
    for (const token of ['Observable', 'subscribe', '_private', '$scope', 'const', "'rxjs'", '"utf8"', '`x${y}`']) {
      assert.equal(isFeatureToken(token), true, token);
    }
    for (const token of ['42', '0x1f', '.5', '(', '=>', '===', ';', '', `'${'a'.repeat(MAX_FEATURE_LENGTH)}'`]) {
      assert.equal(isFeatureToken(token), false, token);
    }
  });

  it('keeps document frequencies up to date as documents come and go', () => {
    const index = new FeatureIndex(1);
    const a = index.countFeatures(['map', '(', 'map', 'filter', ')']);
    const b = index.countFeatures(['map', 'reduce']);
    index.addDocument(0, a.featureIds);
    index.addDocument(1, b.featureIds);
    assert.equal(index.documentFrequency(index.idOf('map')), 2);
    assert.equal(index.documentFrequency(index.idOf('filter')), 1);
    assert.equal(index.idOf('('), -1);
    assert.deepEqual([...a.counts], [2, 1]);

    index.removeDocument(0, a.featureIds);
    assert.equal(index.documentFrequency(index.idOf('map')), 1);
    assert.equal(index.documentFrequency(index.idOf('filter')), 0);
    assert.deepEqual([...index.documentsWith(index.idOf('map'))], [1]);
  });

  it('weighs with sublinear tf and idf, L2-normalised, so ubiquitous names count for ~nothing', () => {
    const index = new FeatureIndex(1);
    const documents = [
      ['const', 'alpha', 'alpha', 'alpha', 'alpha'],
      ['const', 'beta'],
      ['const', 'gamma'],
    ].map((tokens) => index.countFeatures(tokens));
    documents.forEach((counts, slot) => index.addDocument(slot, counts.featureIds));
    const { vector } = index.weigh(documents[0], 3);
    const weightOf = (token: string): number => vector.weights[vector.featureIds.indexOf(index.idOf(token))];
    const norm = Math.hypot(...vector.weights);
    assert.ok(Math.abs(norm - 1) < 1e-12);
    const rawAlpha = (1 + Math.log(4)) * inverseDocumentFrequency(1, 3);
    const rawConst = 1 * inverseDocumentFrequency(3, 3);
    assert.ok(Math.abs(weightOf('alpha') / weightOf('const') - rawAlpha / rawConst) < 1e-9);
    assert.ok(weightOf('const') < 0.25);
  });

  it('counts query features without growing the index', () => {
    const index = new FeatureIndex(1);
    index.addDocument(0, index.countFeatures(['known', 'known']).featureIds);
    const before = index.featureCount;
    const query = index.countQueryFeatures(['known', 'unseen', 'unseen', '+', '7']);
    assert.equal(index.featureCount, before);
    assert.deepEqual([...query.featureIds], [index.idOf('known')]);
    assert.deepEqual([...query.unknownCounts], [['unseen', 2]]);
  });

  it('computes cosine over sorted sparse vectors', () => {
    const a = { featureIds: Int32Array.of(1, 3, 5), weights: Float64Array.of(0.6, 0.8, 0) };
    const b = { featureIds: Int32Array.of(3, 4), weights: Float64Array.of(1, 0) };
    assert.ok(Math.abs(cosineSimilarity(a, b) - 0.8) < 1e-12);
    assert.ok(Math.abs(cosineSimilarity(a, a) - 1) < 1e-12);
  });
});
