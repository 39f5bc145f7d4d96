import * as assert from 'node:assert/strict';
import { detokenize, ghostTextOf, needsSpaceBetween, tokenToText } from '../../../src/host/textMapping';

describe('textMapping', () => {
  describe('detokenize', () => {
    it('writes calls, member access and argument lists as code is written', () => {
      assert.equal(detokenize(['foo', '.', 'bar', '(', 'a', ',', 'b', ')', ';']), 'foo.bar(a, b);');
    });

    it('puts spaces around assignment and arrows and after keywords', () => {
      assert.equal(detokenize(['const', 'x', '=', 'new', 'Foo', '(', '3', ')', ';']), 'const x = new Foo(3);');
      assert.equal(detokenize(['(', 'a', ')', '=>', 'a', '+', '1']), '(a) => a + 1');
      assert.equal(detokenize(['if', '(', 'x', ')', '{']), 'if (x) {');
    });

    it('keeps unary minus on its operand and binary minus spaced', () => {
      assert.equal(detokenize(['x', '=', '-', '1', ';']), 'x = -1;');
      assert.equal(detokenize(['a', '-', 'b']), 'a - b');
    });

    it('restores the spaces of string literals', () => {
      assert.equal(tokenToText('"a\u2581b"'), '"a b"');
      assert.equal(detokenize(['log', '(', '"a\u2581b"', ')']), 'log("a b")');
    });

    it('spaces the first token after the line before the cursor', () => {
      assert.equal(detokenize(['(', 'x', ')'], ['foo']), '(x)');
      assert.equal(detokenize(['Foo'], ['new']), ' Foo');
      assert.equal(detokenize(['1'], ['x', '=', '-']), '1');
      assert.equal(needsSpaceBetween(',', 'b'), true);
      assert.equal(needsSpaceBetween('a', ','), false);
    });
  });

  describe('ghostTextOf', () => {
    const of = (textBefore: string, tokens: string[], typedPrefix = '', language: 'js' | 'python' = 'js') =>
      ghostTextOf(textBefore, { typedPrefix, tokens, probability: 0.5 }, language);

    it('joins the continuation as source text after the line', () => {
      assert.deepEqual(of('const queue = new ', ['GlimmerwartQueue', '(', '3', ')', ';']), {
        typedPrefix: '',
        text: 'GlimmerwartQueue(3);',
        tokens: ['GlimmerwartQueue', '(', '3', ')', ';'],
      });
      assert.equal(of('  x.', ['push', '(', 'item', ')'])?.text, 'push(item)');
    });

    it('includes the typed prefix and replaces it', () => {
      const ghost = of('const queue = new Glim', ['GlimmerwartQueue', '(', ')', ';'], 'Glim');
      assert.equal(ghost?.typedPrefix, 'Glim');
      assert.equal(ghost?.text, 'GlimmerwartQueue();');
    });

    it('adds a space when the cursor follows a word, and none after a space', () => {
      assert.equal(of('return', ['score', ';'])?.text, ' score;');
      assert.equal(of('return ', ['score', ';'])?.text, 'score;');
    });

    it('shows nothing for an empty continuation', () => {
      assert.equal(of('a = ', []), undefined);
    });
  });
});
