import { strict as assert } from 'node:assert';
import { evaluate } from '../../../../src/core/eval/evaluate';
import type { EvaluationModel, EvaluationSetting, ScoredPosition } from '../../../../src/core/eval/evaluate';
import { MetricAccumulator, RankAccumulator, isIdentifier } from '../../../../src/core/eval/metrics';
import type { CorpusFile } from '../../../../src/core/text/corpus';

function file(relPath: string, split: 'train' | 'test', text: string): CorpusFile {
  return { relPath, split, tokens: text.split(' ') };
}

/** A corpus where `secretName` occurs in one TEST file only, twice. */
function corpusWithSecret(): CorpusFile[] {
  const files: CorpusFile[] = [];
  for (let i = 0; i < 12; i++) {
    const text = `import { map${i} } from 'rxjs' ; const value${i} = source . pipe ( map${i} ( x => x ) ) ;`;
    files.push(file(`src/dir${i % 3}/train${i}.ts`, 'train', text));
  }
  const other = "import { map1 } from 'rxjs' ; const other = source . pipe ( map1 ( y => y ) ) ;";
  files.push(file('src/dir0/other.ts', 'test', other));
  const secret =
    "import { map2 } from 'rxjs' ; const secretName = source . pipe ( map2 ( z => z ) ) ; secretName . subscribe ( ) ;";
  files.push(file('src/dir0/secret.ts', 'test', secret));
  return files;
}

describe('evaluate', () => {
  it('gives the entropy, MRR and top-1 computed by hand for a unigram model', () => {
    const files = [file('a.ts', 'train', 'x y x'), file('b.ts', 'test', 'x z')];
    const options = { order: 1, smoothing: 'jm', ngram: { jmLambda: 0.5 } } as const;
    const result = evaluate(files, { model: 'ngram', setting: 'static', ...options });
    // Counts x:2 y:1 <eof>:1 (total 4); vocabulary x, y, <eof> + escape = 4 slots.
    const pX = (0.5 * 2) / 4 + 0.5 / 4;
    const pUnknownZ = 0.5 / 4;
    const pEnd = (0.5 * 1) / 4 + 0.5 / 4;
    const entropy = -(Math.log2(pX) + Math.log2(pUnknownZ) + Math.log2(pEnd)) / 3;
    assert.equal(result.tokens, 3);
    assert.equal(result.files, 1);
    assert.ok(Math.abs(result.entropy - entropy) < 1e-12, `${result.entropy} vs ${entropy}`);
    // Ranks: x first; z absent; <eof> ties with y and loses on its larger id, so third.
    assert.ok(Math.abs(result.mrr - (1 + 0 + 1 / 3) / 3) < 1e-12);
    assert.ok(Math.abs(result.top1 - 1 / 3) < 1e-12);
    assert.equal(result.identifiers.tokens, 2);
    assert.ok(Math.abs(result.identifiers.entropy - -(Math.log2(pX) + Math.log2(pUnknownZ)) / 2) < 1e-12);
    assert.ok(Math.abs(result.identifiers.mrr - 0.5) < 1e-12);
    assert.equal(result.model, 'ngram');
    assert.equal(result.setting, 'static');
  });

  const combinations: [EvaluationModel, EvaluationSetting][] = [
    ['ngram', 'static'],
    ['ngram', 'cache'],
    ['ngram', 'project'],
    ['cache', 'cache'],
    ['cache', 'project'],
    ['nested', 'cache'],
    ['nested', 'project'],
    ['graph-nested', 'static'],
    ['graph-nested', 'cache'],
    ['graph-nested', 'project'],
  ];
  for (const [model, setting] of combinations) {
    it(`${model} / ${setting}: a token of the current file stays at escape level until the prefix shows it`, () => {
      const positions: ScoredPosition[] = [];
      const onPosition = (position: ScoredPosition): void => {
        if (position.relPath === 'src/dir0/secret.ts' && position.token === 'secretName') positions.push(position);
      };
      evaluate(corpusWithSecret(), { model, setting, mixing: 'confidence', onPosition });
      const secret = positions;
      assert.equal(secret.length, 2);
      assert.equal(secret[0].probability, secret[0].escapeProbability, 'first occurrence: never seen');
      assert.equal(secret[0].rank, -1);
      if (setting === 'static') {
        assert.equal(secret[1].probability, secret[1].escapeProbability, 'static: no adaptation');
      } else {
        // A name seen once, in another context, is still a long shot; but no longer an unknown one.
        assert.ok(secret[1].probability > 1.2 * secret[1].escapeProbability, 'seen in the prefix');
      }
    });
  }

  it('scores every token and one end-of-file symbol per TEST file, with fitted mixing by default', () => {
    const result = evaluate(corpusWithSecret(), { model: 'graph-nested', setting: 'project' });
    const testTokens = corpusWithSecret()
      .filter((corpusFile) => corpusFile.split === 'test')
      .reduce((sum, corpusFile) => sum + corpusFile.tokens.length + 1, 0);
    assert.equal(result.tokens, testTokens);
    assert.equal(result.files, 2);
    assert.ok(result.entropy > 0 && result.mrr > 0 && result.mrr <= 1 && result.top1 <= result.mrr);
    assert.ok(result.ms >= 0);
  });
});

describe('evaluate with slpBatchMrr (SLP-Core batch-mode ranking)', () => {
  /**
   * After `a`, TRAIN prefers `b`; the TEST file repeats `a e`. Leak-free, the
   * first `e` is a TRAIN long shot; SLP-Core's batch cache has already read
   * every `a e` of the file, the one being predicted included.
   */
  function corpusWithRepeatedPair(): CorpusFile[] {
    const train = ['a b ;', 'a b ;', 'a c ;', 'a d ;', 'a e ;'];
    return [
      ...train.map((text, i) => file(`src/train${i}.ts`, 'train', text)),
      file('src/test.ts', 'test', 'a e ; a e ; a e'),
    ];
  }

  const leakFreeFigures = (result: ReturnType<typeof evaluate>): unknown => ({ ...result, ms: 0, slpBatch: undefined });

  for (const model of ['cache', 'nested'] as const) {
    it(`${model} / cache: reading the test file ahead lifts MRR above the leak-free figure`, () => {
      const options = { model, setting: 'cache', order: 2, smoothing: 'jm', mixing: 'confidence' } as const;
      const firstE: ScoredPosition[] = [];
      const onPosition = (position: ScoredPosition): void => {
        if (position.index === 1) firstE.push(position);
      };
      const result = evaluate(corpusWithRepeatedPair(), { ...options, slpBatchMrr: true, onPosition });
      assert.ok(firstE[0].rank !== 0, 'leak-free: the first `e` is not the favourite after `a`');
      const leaky = result.slpBatch;
      assert.ok(leaky !== undefined);
      assert.ok(leaky.mrr > result.mrr + 0.05, `SLP batch ${leaky.mrr} vs leak-free ${result.mrr}`);
      assert.ok(leaky.top1 > result.top1);
    });
  }

  it('leaves the leak-free figures exactly as they are without the option', () => {
    const corpora = [corpusWithSecret(), corpusWithRepeatedPair()];
    const combinations: [EvaluationModel, EvaluationSetting][] = [
      ['ngram', 'cache'],
      ['cache', 'cache'],
      ['cache', 'project'],
      ['nested', 'project'],
      ['graph-nested', 'cache'],
      ['graph-nested', 'project'],
    ];
    for (const corpus of corpora) {
      for (const [model, setting] of combinations) {
        const plain = evaluate(corpus, { model, setting, order: 3 });
        const withLeak = evaluate(corpus, { model, setting, order: 3, slpBatchMrr: true });
        assert.equal(plain.slpBatch, undefined);
        assert.ok(withLeak.slpBatch !== undefined);
        assert.deepEqual(leakFreeFigures(withLeak), leakFreeFigures(plain), `${model} / ${setting}`);
      }
    }
  });

  it('equals the leak-free MRR when no cache level adapts (ngram model, static setting)', () => {
    for (const [model, setting] of [
      ['ngram', 'cache'],
      ['ngram', 'project'],
      ['nested', 'static'],
    ] as const) {
      const result = evaluate(corpusWithRepeatedPair(), { model, setting, order: 2, slpBatchMrr: true });
      assert.deepEqual(result.slpBatch, { mrr: result.mrr, top1: result.top1 }, `${model} / ${setting}`);
    }
  });
});

describe('metrics', () => {
  it('averages −log2 p, reciprocal ranks and firsts over positions', () => {
    const metrics = new MetricAccumulator();
    metrics.add(0.5, 0);
    metrics.add(0.25, 1);
    metrics.add(0.125, -1);
    metrics.add(1, 10);
    const summary = metrics.summary();
    assert.equal(summary.tokens, 4);
    assert.equal(summary.entropy, (1 + 2 + 3 + 0) / 4);
    assert.equal(summary.mrr, (1 + 0.5) / 4);
    assert.equal(summary.top1, 1 / 4);
    assert.throws(() => metrics.add(0, 0), /probability 0/);
  });

  it('averages reciprocal ranks and firsts of a ranking alone', () => {
    const ranks = new RankAccumulator();
    for (const rank of [0, 1, -1, 10]) ranks.add(rank);
    assert.deepEqual(ranks.summary(), { mrr: (1 + 0.5) / 4, top1: 1 / 4 });
    assert.deepEqual(new RankAccumulator().summary(), { mrr: 0, top1: 0 });
  });

  it('counts identifiers by shape, leaving out the language’s reserved words', () => {
    assert.ok(isIdentifier('subscriber', 'a.ts'));
    assert.ok(isIdentifier('$value_1', 'a.ts'));
    assert.ok(!isIdentifier('const', 'a.ts'));
    assert.ok(!isIdentifier('this', 'a.ts'));
    assert.ok(isIdentifier('def', 'a.ts'));
    assert.ok(!isIdentifier('def', 'a.py'));
    assert.ok(isIdentifier('self', 'a.py'));
    assert.ok(!isIdentifier('.', 'a.ts'));
    assert.ok(!isIdentifier("'text'", 'a.ts'));
    assert.ok(!isIdentifier('1e3', 'a.ts'));
  });
});
