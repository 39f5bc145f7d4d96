import * as assert from 'node:assert/strict';
import type { Completion } from '../../../src/core/engine/completionEngine';
import { detokenize, generateGhostText, looksLikeSecret, needsSpaceBetween, tokenToText } from '../../../src/host/textMapping';

/** A fake engine that continues with a fixed token list after `start`, reading how much was generated from the text. */
function scripted(start: string, continuation: readonly string[], typedPrefix = ''): (text: string) => Promise<Completion> {
  const seen: string[] = [];
  return async (text: string) => {
    seen.push(text);
    const step = seen.length - 1;
    const token = continuation[step];
    assert.ok(text.startsWith(start.slice(0, start.length - typedPrefix.length)), `request ${step} lost the text before the cursor`);
    return {
      typedPrefix: step === 0 ? typedPrefix : '',
      suggestions: token === undefined ? [] : [{ token, probability: 0.9 }],
    };
  };
}

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

  describe('generateGhostText', () => {
    const options = { maxTokens: 16, minProbability: 0.05, language: 'js' as const, textAfter: '' };

    it('continues the line to the end of the statement', async () => {
      const textBefore = 'const queue = new ';
      const ghost = await generateGhostText(textBefore, scripted(textBefore, ['GlimmerwartQueue', '(', '3', ')', ';', 'foo']), options);
      assert.deepEqual(ghost, { typedPrefix: '', text: 'GlimmerwartQueue(3);', tokens: ['GlimmerwartQueue', '(', '3', ')', ';'] });
    });

    it('includes the typed prefix and replaces it', async () => {
      const textBefore = 'const queue = new Glim';
      const ghost = await generateGhostText(textBefore, scripted(textBefore, ['GlimmerwartQueue', '(', ')', ';'], 'Glim'), options);
      assert.equal(ghost?.typedPrefix, 'Glim');
      assert.equal(ghost?.text, 'GlimmerwartQueue();');
    });

    it('adds a space when the cursor follows a word', async () => {
      const textBefore = 'return';
      const ghost = await generateGhostText(textBefore, scripted(textBefore, ['score', ';']), options);
      assert.equal(ghost?.text, ' score;');
    });

    it('asks the engine with a space after a generated word, so it is not read as a typed prefix', async () => {
      const requests: string[] = [];
      const tokens = ['foo', '(', ')'];
      await generateGhostText('x = ', async (text) => {
        requests.push(text);
        const token = tokens[requests.length - 1];
        return { typedPrefix: '', suggestions: token === undefined ? [] : [{ token, probability: 0.5 }] };
      }, options);
      assert.deepEqual(requests, ['x = ', 'x = foo ', 'x = foo(', 'x = foo()']);
    });

    it('stops before a closer the line already has after the cursor', async () => {
      const textBefore = 'zorblaxFrobnicate(quuxelCount, ';
      const ghost = await generateGhostText(
        textBefore, scripted(textBefore, ['snorkelbatchDepth', ')', ';']), { ...options, textAfter: ')' },
      );
      assert.equal(ghost?.text, 'snorkelbatchDepth');
    });

    it('stops at unlikely tokens, at the token limit, and when cancelled', async () => {
      const unlikely = async (): Promise<Completion> => ({ typedPrefix: '', suggestions: [{ token: 'x', probability: 0.01 }] });
      assert.equal(await generateGhostText('a = ', unlikely, options), undefined);
      const endless = async (): Promise<Completion> => ({ typedPrefix: '', suggestions: [{ token: 'a', probability: 0.9 }] });
      assert.equal((await generateGhostText('', endless, { ...options, maxTokens: 3 }))?.tokens.length, 3);
      let calls = 0;
      const counting = async (): Promise<Completion> => {
        calls++;
        return { typedPrefix: '', suggestions: [{ token: 'a', probability: 0.9 }] };
      };
      assert.equal(await generateGhostText('', counting, { ...options, isCancelled: () => calls > 0 }), undefined);
    });

    it('ends a Python line after its colon', async () => {
      const ghost = await generateGhostText('def ', scripted('def ', ['run', '(', ')', ':', 'pass']), { ...options, language: 'python' });
      assert.equal(ghost?.text, 'run():');
    });
  });

  describe('looksLikeSecret', () => {
    it('flags long random-looking string literals and nothing else', () => {
      assert.equal(looksLikeSecret("'AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI'"), true);
      assert.equal(looksLikeSecret('"ghp_9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"'), true);
      assert.equal(looksLikeSecret("'application/json'"), false);
      assert.equal(looksLikeSecret('"hello\u2581world\u2581from\u2581here"'), false);
      assert.equal(looksLikeSecret('"aaaaaaaaaaaaaaaaaaaa"'), false);
      assert.equal(looksLikeSecret('zorblaxFrobnicateEverythingNow'), false);
    });

    it('ends ghost text before a secret-looking literal', async () => {
      const ghost = await generateGhostText('const key = ', scripted('const key = ', ["'AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMI'", ';']), {
        maxTokens: 16, minProbability: 0.05, language: 'js', textAfter: '',
      });
      assert.equal(ghost, undefined);
    });
  });
});
