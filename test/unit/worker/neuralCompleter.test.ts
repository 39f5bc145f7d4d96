import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/core/backend/backend';
import { CompletionEngine } from '../../../src/core/engine/completionEngine';
import type { CompletionMixer } from '../../../src/core/engine/completionEngine';
import { disposeTrainedModel } from '../../../src/core/experiment/model';
import type { TrainedModel } from '../../../src/core/experiment/model';
import { DEFAULT_TRAIN_SETTINGS, hyperOf } from '../../../src/core/experiment/train';
import { GATE_FEATURE_COUNT } from '../../../src/core/mix/gate';
import { flattenParams, initLstmParams } from '../../../src/core/neural/lstm';
import { tokenize } from '../../../src/core/text/lexer';
import type { TokenDistribution } from '../../../src/core/ngram/tokenModel';
import { Vocabulary } from '../../../src/core/text/vocabulary';
import { NeuralCompleter } from '../../../src/worker/neuralCompleter';

const encode = (text: string) => new TextEncoder().encode(text);

describe('the neural side of completions', () => {
  const classTokens = ['<unk>', 'const', 'a', '=', '==', '1', ';', 'if', '(', ')', '<eof>'];
  const config = { vocabSize: classTokens.length, embeddingSize: 4, hiddenSize: 6, layers: 1 };
  let model: TrainedModel;
  let engine: CompletionEngine;
  before(async () => {
    await initBackend({ force: 'wasm' });
    model = {
      learner: 'reptile',
      config,
      classTokens,
      params: flattenParams(initLstmParams(config, 5)),
      gate: { order: 6, weights: new Array<number>(GATE_FEATURE_COUNT).fill(0), bias: 0 },
      hyper: hyperOf(DEFAULT_TRAIN_SETTINGS),
      provenance: {},
    };
    engine = new CompletionEngine();
    engine.updateFile('a.ts', encode('const a = 1;\nif (a == 1) a = 1;\n'));
  });
  after(() => disposeTrainedModel(model));

  /** The mixture's probability of every class token at the end of `text`, through the engine as the worker calls it. */
  function probabilities(completer: NeuralCompleter, text: string): number[] {
    let seen: number[] = [];
    const mixer: CompletionMixer = (path, tokens, ngram, vocabulary) => {
      const mixed = completer.mix(path, tokens, ngram, vocabulary);
      assert.ok(mixed !== undefined);
      seen = classTokens.slice(1).map((token) => mixed.probability(vocabulary.idOf(token)));
      return mixed;
    };
    engine.complete('b.ts', text, 5, mixer);
    return seen;
  }

  it('gives the same distribution after an edit of the last token as when it reads the text afresh', () => {
    const before = tf.memory().numTensors;
    const typing = new NeuralCompleter(model, () => undefined);
    // Typing `=` then `==` changes the last token: the completer goes back one token instead of rereading.
    probabilities(typing, 'const a = 1;\nif (a =');
    const edited = probabilities(typing, 'const a = 1;\nif (a ==');
    const fresh = new NeuralCompleter(model, () => undefined);
    const reference = probabilities(fresh, 'const a = 1;\nif (a ==');
    edited.forEach((p, i) => assert.ok(Math.abs(p - reference[i]) < 1e-6, `${classTokens[i + 1]}: ${p} vs ${reference[i]}`));
    // And text that grows, or shrinks to an earlier point, matches a fresh read too.
    const grown = probabilities(typing, 'const a = 1;\nif (a == 1)');
    const shrunk = probabilities(typing, 'const a = 1;\nif (');
    typing.dispose();
    const again = new NeuralCompleter(model, () => undefined);
    assert.deepEqual(grown.map((p) => p.toFixed(6)), probabilities(again, 'const a = 1;\nif (a == 1)').map((p) => p.toFixed(6)));
    again.dispose();
    const once = new NeuralCompleter(model, () => undefined);
    assert.deepEqual(shrunk.map((p) => p.toFixed(6)), probabilities(once, 'const a = 1;\nif (').map((p) => p.toFixed(6)));
    once.dispose();
    fresh.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it('keeps dynamic evaluation finite when a model carries a segment of 0, a negative or a fractional one', () => {
    // splice(0, 0) never emptied the pending tokens: the worker hung on the first keystroke.
    for (const dynamicSegment of [0, -4, 0.5]) {
      const completer = new NeuralCompleter({ ...model, hyper: { ...model.hyper, dynamicSegment } }, () => undefined);
      const seen = probabilities(completer, 'const a = 1;\nif (a == 1) a = 1;\n');
      assert.ok(seen.every((p) => p >= 0 && p <= 1));
      completer.dispose();
    }
  });

  it('adapts a model meta-trained on neighbour supports to the neighbours it is given, and any other model to the file', () => {
    const file = tokenize('if (a == 1) a = 1;\nconst a = 1;\n', 'js');
    const other = tokenize('const a = 1; const a = 1; const a = 1;\n', 'js');
    const neighbourModel: TrainedModel = { ...model, hyper: { ...model.hyper, support: 'neighbours' } };
    const before = tf.memory().numTensors;
    const byNeighbours = new NeuralCompleter(neighbourModel, () => undefined);
    const fromOther = byNeighbours.adapt('b.ts', file, [other, other]);
    assert.equal(fromOther.support, 'neighbours');
    assert.equal(fromOther.supportTokens, 2 * other.length);
    // With the file itself as its only neighbour, the support is what a prefix model adapts to: the same result.
    const fromItself = byNeighbours.adapt('b.ts', file, [file]);
    const byText = new NeuralCompleter(model, () => undefined);
    const fromText = byText.adapt('b.ts', file, [other]);
    assert.equal(fromText.support, 'prefix', 'a prefix model ignores neighbours');
    assert.equal(fromText.supportTokens, file.length);
    assert.ok(Math.abs(fromItself.lossAfter - fromText.lossAfter) < 1e-5, `${fromItself.lossAfter} vs ${fromText.lossAfter}`);
    assert.ok(Math.abs(fromOther.lossAfter - fromText.lossAfter) > 1e-4, 'other tokens adapt the model differently');
    // No neighbour: the file's own text.
    assert.equal(byNeighbours.adapt('b.ts', file).support, 'prefix');
    byNeighbours.dispose();
    byText.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  it('scores beam-search hypotheses as if their tokens had been typed, in one batched step per token', () => {
    const vocabulary = new Vocabulary();
    vocabulary.internAll(classTokens);
    // A fixed n-gram side, so that only the LSTM's reading differs between the two ways.
    const ngram: TokenDistribution = {
      vocabularySize: vocabulary.size,
      probability: () => 1 / (vocabulary.size + 1),
      escapeProbability: 1 / (vocabulary.size + 1),
      confidence: 0.5,
      matchedOrder: 2,
      contextCount: 3,
      contextDistinct: 2,
      collectCandidates: () => undefined,
    };
    const probe = (distribution: TokenDistribution | undefined) => {
      assert.ok(distribution !== undefined);
      return classTokens.slice(1).map((token) => distribution.probability(vocabulary.idOf(token)));
    };
    const typed = (text: string) => {
      const fresh = new NeuralCompleter(model, () => undefined);
      const mixed = probe(fresh.mix('c.ts', tokenize(text, 'js'), ngram, vocabulary));
      fresh.dispose();
      return mixed;
    };
    const close = (actual: number[], expected: number[], what: string) =>
      actual.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-5, `${what}, ${classTokens[i + 1]}: ${p} vs ${expected[i]}`));

    const before = tf.memory().numTensors;
    const text = 'const a = 1;\nif (a';
    const completer = new NeuralCompleter(model, () => undefined);
    const continuation = completer.continuation('b.ts', tokenize(text, 'js'), vocabulary);
    assert.ok(continuation !== undefined);
    close(probe(continuation.root(ngram)), typed(text), 'root');
    // Two hypotheses from the root, then one grown from the second.
    const first = continuation.expand([{ parent: 0, token: '==' }, { parent: 0, token: ')' }], [ngram, ngram]);
    close(probe(first[0]), typed(`${text} ==`), 'a ==');
    close(probe(first[1]), typed(`${text})`), 'a )');
    const second = continuation.expand([{ parent: 1, token: 'a' }], [ngram]);
    close(probe(second[0]), typed(`${text}) a`), 'a ) a');
    continuation.dispose();
    // The file's own state is untouched: what it reads next continues from the typed text.
    close(probe(completer.mix('b.ts', tokenize(`${text} ==`, 'js'), ngram, vocabulary)), typed(`${text} ==`), 'typing after the search');
    completer.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });
});
