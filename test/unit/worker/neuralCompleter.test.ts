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
});
