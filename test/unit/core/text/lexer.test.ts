import { strict as assert } from 'node:assert';
import { languageKindOf, tokenize } from '../../../../src/core/text/lexer';
import type { LanguageKind } from '../../../../src/core/text/lexer';
import { assertLinearTime } from '../../linearTime';
import { randomSnippet, referenceSource, referenceTokenize, removeTempDirs, seededRandom } from './referenceLexer';
import type { Snippet } from './referenceLexer';

interface Case {
  kind: LanguageKind;
  text: string;
  tokens: string[];
}

const M = '\u2581';

/** Hand-checked cases, grouped by rule; the parity test below also runs them through the reference. */
const cases: Record<string, Case[]> = {
  'regex literal versus division': [
    { kind: 'js', text: 'a / b / c', tokens: ['a', '/', 'b', '/', 'c'] },
    { kind: 'js', text: 'x = /ab+c/gi.test(s)', tokens: ['x', '=', '/ab+c/gi', '.', 'test', '(', 's', ')'] },
    { kind: 'js', text: 'f(x) /a/ 2', tokens: ['f', '(', 'x', ')', '/', 'a', '/', '2'] },
    { kind: 'js', text: 'a[0] /b/ 2', tokens: ['a', '[', '0', ']', '/', 'b', '/', '2'] },
    { kind: 'js', text: '{} /a/g', tokens: ['{', '}', '/', 'a', '/', 'g'] },
    { kind: 'js', text: 'return /a b/g', tokens: ['return', `/a${M}b/g`] },
    { kind: 'js', text: 'typeof /x/', tokens: ['typeof', '/x/'] },
    { kind: 'js', text: 'x instanceof /y/', tokens: ['x', 'instanceof', '/y/'] },
    { kind: 'js', text: 'x = a\n/re/', tokens: ['x', '=', 'a', '/', 're', '/'] },
    { kind: 'js', text: '/[/]/.source', tokens: ['/[/]/', '.', 'source'] },
    { kind: 'js', text: 'a = /"/; b = "c"', tokens: ['a', '=', '/"/', ';', 'b', '=', '"c"'] },
    { kind: 'js', text: 's = / open\n', tokens: ['s', '=', '/', 'open'] },
    { kind: 'js', text: 's = /a\\\n/', tokens: ['s', '=', '/', 'a', '/'] },
    { kind: 'js', text: "'a' /b/ 1", tokens: ["'a'", '/', 'b', '/', '1'] },
    { kind: 'js', text: '.5 /a/ 1', tokens: ['.5', '/', 'a', '/', '1'] },
    { kind: 'js', text: '.../x/', tokens: ['...', '/x/'] },
    // The reference lets a regex follow a regex.
    { kind: 'js', text: '/a/ /b/', tokens: ['/a/', '/b/'] },
    { kind: 'js', text: '\u00e9 /a/ 1', tokens: ['\u00e9', '/', 'a', '/', '1'] },
    { kind: 'js', text: '\u2192 /a/', tokens: ['\u2192', '/a/'] },
    { kind: 'other', text: 'x = /a/', tokens: ['x', '=', '/', 'a', '/'] },
  ],
  comments: [
    { kind: 'js', text: 'a // b\nc', tokens: ['a', 'c'] },
    { kind: 'js', text: 'a /* b\n */ c /* open', tokens: ['a', 'c'] },
    { kind: 'js', text: '/*/ a */ b', tokens: ['b'] },
    { kind: 'python', text: 'a // b  # c\nd', tokens: ['a', '//', 'b', 'd'] },
    { kind: 'python', text: 'a /* b */', tokens: ['a', '/', '*', 'b', '*', '/'] },
    { kind: 'other', text: 'a # b', tokens: ['a', '#', 'b'] },
  ],
  'template literals': [
    { kind: 'js', text: '`a ${ {b: 1}.b } c`', tokens: [`\`a${M}\${${M}{b:${M}1}.b${M}}${M}c\``] },
    { kind: 'js', text: "`${'}'}` x", tokens: ["`${'}'}`", 'x'] },
    { kind: 'js', text: '`${ /}/.test(x) }` y', tokens: [`\`\${${M}/}/.test(x)${M}}\``, 'y'] },
    { kind: 'js', text: '`${x / 2}` y', tokens: [`\`\${x${M}/${M}2}\``, 'y'] },
    { kind: 'js', text: '`${a // }\n}` b', tokens: [`\`\${a${M}//${M}}${M}}\``, 'b'] },
    { kind: 'js', text: '`${a /* } */}` b', tokens: [`\`\${a${M}/*${M}}${M}*/}\``, 'b'] },
    { kind: 'js', text: "`a${`b${'}'}`}c` d", tokens: ["`a${`b${'}'}`}c`", 'd'] },
    { kind: 'js', text: '`a\\`b` c', tokens: ['`a\\`b`', 'c'] },
    { kind: 'js', text: '`open ${ x', tokens: [`\`open${M}\${${M}x`] },
    { kind: 'python', text: '`a b`', tokens: [`\`a${M}b\``] },
  ],
  'quoted strings': [
    { kind: 'js', text: "'abc\nx'", tokens: ["'abc", 'x', "'"] },
    { kind: 'js', text: "'a\\\nb' c", tokens: [`'a\\${M}b'`, 'c'] },
    { kind: 'js', text: '"a\\"b" c', tokens: ['"a\\"b"', 'c'] },
    { kind: 'js', text: '"a  \t b"', tokens: [`"a${M}b"`] },
    { kind: 'js', text: "'''a'''", tokens: ["''", "'a'", "''"] },
  ],
  'Python strings': [
    { kind: 'python', text: "rb'x' Rb\"y\" f'{a}' fr\"z\" u'w' BR'v'", tokens: ["rb'x'", 'Rb"y"', "f'{a}'", 'fr"z"', "u'w'", "BR'v'"] },
    { kind: 'python', text: "bu'x' rbx'y'", tokens: ['bu', "'x'", 'rbx', "'y'"] },
    { kind: 'python', text: "'''a\n  b''' c", tokens: [`'''a${M}b'''`, 'c'] },
    { kind: 'python', text: 'r"""a\\"""b""" c', tokens: ['r"""a\\"""b"""', 'c'] },
    { kind: 'python', text: "'''open\nx", tokens: [`'''open${M}x`] },
    { kind: 'js', text: "rb'x'", tokens: ['rb', "'x'"] },
  ],
  numbers: [
    {
      kind: 'js',
      text: '0x1F 0XffN 0b1010 0o17 1e10 1.5e-3 1_000n 10L 1.0f 3j',
      tokens: ['0x1F', '0XffN', '0b1010', '0o17', '1e10', '1.5e-3', '1_000n', '10L', '1.0f', '3j'],
    },
    { kind: 'js', text: '1. .5 1..toString 1.e5 1.toFixed', tokens: ['1.', '.5', '1', '.', '.', 'toString', '1', '.', 'e5', '1', '.', 'toFixed'] },
    { kind: 'js', text: '0b2 0x 0xg 1e+ 1._x', tokens: ['0b', '2', '0x', '0xg', '1e', '+', '1', '.', '_x'] },
    { kind: 'js', text: 'x?.5:1', tokens: ['x', '?', '.5', ':', '1'] },
    { kind: 'js', text: 'x?.y ?.\u00b2', tokens: ['x', '?.', 'y', '?', '.', '\u00b2'] },
    // Python's \d is Unicode: Arabic-Indic and mathematical digits are numbers, superscripts are not.
    { kind: 'js', text: '\u0661\u0662 \u{1d7ce}5 \u00b2', tokens: ['\u0661\u0662', '\u{1d7ce}5', '\u00b2'] },
  ],
  operators: [
    { kind: 'js', text: 'a>>>=b>>>c=>d...e', tokens: ['a', '>>>=', 'b', '>>>', 'c', '=>', 'd', '...', 'e'] },
    { kind: 'js', text: 'a**=b!==c<<=d??=e->f', tokens: ['a', '**=', 'b', '!==', 'c', '<<=', 'd', '??=', 'e', '->', 'f'] },
    { kind: 'js', text: 'a====b..c', tokens: ['a', '===', '=', 'b', '.', '.', 'c'] },
    { kind: 'python', text: 'x::y:=z//=w@=v', tokens: ['x', '::', 'y', ':=', 'z', '//=', 'w', '@=', 'v'] },
    { kind: 'js', text: 'List<List<T>> l', tokens: ['List', '<', 'List', '<', 'T', '>>', 'l'] },
  ],
  'whitespace and line continuations': [
    { kind: 'js', text: 'a \\\n b \\\r\n c', tokens: ['a', 'b', 'c'] },
    { kind: 'js', text: 'a \\ b', tokens: ['a', '\\', 'b'] },
    { kind: 'js', text: 'a\u00a0b\u2028c\u3000d\u001ce\u0085f', tokens: ['a', 'b', 'c', 'd', 'e', 'f'] },
    // U+FEFF and U+200B are not whitespace in Python.
    { kind: 'js', text: '\ufeffa\u200bb', tokens: ['\ufeff', 'a', '\u200b', 'b'] },
    { kind: 'js', text: '"a\u00a0\u3000b\u0085c"', tokens: [`"a${M}b${M}c"`] },
    { kind: 'js', text: 'x\u{1d49c}y \u{1f600} /a/', tokens: ['x', '\u{1d49c}', 'y', '\u{1f600}', '/a/'] },
  ],
  "the reference's selftest": [
    {
      kind: 'other',
      text: 'const s = `a ${b + `c ${"d}"}`} e`; // c\nx?.y ?? 0x1Fn >>>= .5 /* k */ a?.5:1',
      tokens: ['const', 's', '=', `\`a${M}\${b${M}+${M}\`c${M}\${"d}"}\`}${M}e\``, ';', 'x', '?.', 'y', '??', '0x1Fn', '>>>=', '.5', 'a', '?', '.5', ':', '1'],
    },
    {
      kind: 'python',
      text: 'def f(a):\n    """Doc  string."""\n    return a // 2  # c\nx = rb"\\x00" + f\'{a}\'\n',
      tokens: ['def', 'f', '(', 'a', ')', ':', `"""Doc${M}string."""`, 'return', 'a', '//', '2', 'x', '=', 'rb"\\x00"', '+', "f'{a}'"],
    },
    {
      kind: 'other',
      text: 'int x = 1_000L; String s = "a\\"b"; /** doc */ List<List<T>> l; x >>= 2;',
      tokens: ['int', 'x', '=', '1_000L', ';', 'String', 's', '=', '"a\\"b"', ';', 'List', '<', 'List', '<', 'T', '>>', 'l', ';', 'x', '>>=', '2', ';'],
    },
    {
      kind: 'js',
      text: 'const r = s.replace(/\\(")[/]/g, "x") / 2; return /a b/.test(`${y.match(/"/)}`)',
      tokens: ['const', 'r', '=', 's', '.', 'replace', '(', '/\\(")[/]/g', ',', '"x"', ')', '/', '2', ';', 'return', `/a${M}b/`, '.', 'test', '(', '`${y.match(/"/)}`', ')'],
    },
  ],
};

function toSnippet(kind: LanguageKind, text: string): Snippet {
  return { text, isPython: kind === 'python', isJs: kind === 'js' };
}

describe('lexer', () => {
  after(removeTempDirs);

  describe('languageKindOf', () => {
    it('maps extensions to the lexer variant', () => {
      assert.equal(languageKindOf('a/b.py'), 'python');
      for (const ext of ['ts', 'tsx', 'js', 'jsx', 'mjs', 'cjs', 'mts', 'cts']) assert.equal(languageKindOf(`x.${ext}`), 'js');
      assert.equal(languageKindOf('Main.java'), 'other');
      assert.equal(languageKindOf('X.PY'), 'other');
    });
  });

  for (const [rule, ruleCases] of Object.entries(cases)) {
    describe(rule, () => {
      for (const { kind, text, tokens } of ruleCases) {
        it(`${kind}: ${JSON.stringify(text)}`, () => {
          assert.deepEqual(tokenize(text, kind), tokens);
        });
      }
    });
  }

  it('never emits a token containing whitespace', () => {
    const tokens = tokenize('/p q/; "a \t b"; `x\n\u3000y`; \'r\u00a0s\'', 'js');
    // Python's whitespace, which is what the dump format splits on.
    const pythonSpace = /[\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
    assert.deepEqual(tokens, [`/p${M}q/`, ';', `"a${M}b"`, ';', `\`x${M}y\``, ';', `'r${M}s'`]);
    for (const token of tokens) assert.ok(!pythonSpace.test(token), token);
  });

  describe('hostile input', () => {
    // The reference recurses too (Python stops it at ~500 levels), so there is no parity to check here.
    it('lexes templates nested 50,000 deep without overflowing the stack, as one token', () => {
      for (const kind of ['js', 'python'] as const) {
        for (const level of ['`${', '`${\n']) {
          const tokens = tokenize(`x = ${level.repeat(50_000)}`, kind);
          assert.equal(tokens.length, 3, `${kind} ${JSON.stringify(level)}`);
          assert.ok(tokens[2].startsWith('`${'));
        }
      }
      assert.deepEqual(tokenize(`${'`${'.repeat(20_000)}${'}`'.repeat(20_000)} y`, 'js').slice(1), ['y']);
    });

    // Each unit is repeated on one line, between a head and a tail; in the first four, every '/' may start
    // a regex that fails only at the line's end.
    const adversarial: [what: string, kind: LanguageKind, head: string, unit: string, tail: string][] = [
      ['a regex retried after every "("', 'js', 'x = ', '(/[', ''],
      ['a regex retried after every "="', 'js', 'x ', '=/[', ''],
      ['a regex retried inside a template expression', 'js', 'x = `${', '(/[', '}`'],
      ['a regex retried after an escaped backslash', 'js', '', '(/\\\\[', ''],
      ['unterminated quotes', 'js', '', "'a\\", ''],
      ['unterminated block comments', 'js', '', '/*', ''],
      ['unterminated templates', 'js', '', '`${`', ''],
      ['numbers with dots', 'js', '', '1.1e', ''],
      ['unterminated triple quotes', 'python', '', "r'''", ''],
    ];
    for (const [what, kind, head, unit, tail] of adversarial) {
      it(`takes time linear in the input on ${what} (${JSON.stringify(unit)})`, function () {
        this.timeout(300_000);
        assertLinearTime(what, (scale) => {
          const text = head + unit.repeat(Math.ceil((scale * 16_000) / unit.length)) + tail;
          return () => tokenize(text, kind);
        });
      });
    }

    it(`still finds a regex that starts after a failed one on the same line, as the reference does (reference: ${referenceSource()})`, () => {
      const texts = ['(/[(/a/', '(/[ x = /b/g', '(/\\[ /a/ (/c/', '`${(/[(/a/ }`', '`${ (/[ }` /d/', 'a = /[/\\/] (/]/ /'];
      const expected = referenceTokenize('lexer-regex-after-failure', texts.map((text) => toSnippet('js', text)));
      texts.forEach((text, k) => expected.assertAgrees(k, tokenize(text, 'js'), text));
      assert.deepEqual(tokenize('(/[(/a/', 'js'), ['(', '/', '[', '(', '/a/']);
    });
  });

  describe('agrees with the reference lexer', function () {
    this.timeout(30_000);
    const kinds: LanguageKind[] = ['python', 'js', 'other'];

    it(`on every hand-written case (reference: ${referenceSource()})`, () => {
      const all = Object.values(cases).flat();
      const expected = referenceTokenize('lexer-hand-written', all.map((c) => toSnippet(c.kind, c.text)));
      all.forEach((c, k) => expected.assertAgrees(k, c.tokens, JSON.stringify(c.text)));
    });

    it(`on 400 random snippets of tricky fragments, in all three variants (reference: ${referenceSource()})`, () => {
      const random = seededRandom(20240611);
      const snippets: Snippet[] = [];
      for (let k = 0; k < 400; k++) {
        const text = randomSnippet(random, k < 200 ? 8 : 40);
        for (const kind of kinds) snippets.push(toSnippet(kind, text));
      }
      const expected = referenceTokenize('lexer-random-snippets', snippets);
      const mismatches = snippets.filter((snippet, k) => {
        const kind = snippet.isPython ? 'python' : snippet.isJs ? 'js' : 'other';
        return !expected.agrees(k, tokenize(snippet.text, kind));
      });
      assert.deepEqual(mismatches.slice(0, 3), [], `${mismatches.length} of ${snippets.length} snippets differ`);
    });
  });
});
