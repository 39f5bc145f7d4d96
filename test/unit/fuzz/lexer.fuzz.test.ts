import { strict as assert } from 'node:assert';
import { tokenize } from '../../../src/core/text/lexer';
import type { LanguageKind } from '../../../src/core/text/lexer';
import { referenceSource, referenceTokenize, removeTempDirs } from '../core/text/referenceLexer';
import type { Snippet } from '../core/text/referenceLexer';
import { assertLinearTime } from '../linearTime';
import { FuzzRandom, fuzzRuns } from './fuzzRuns';

const KINDS: readonly LanguageKind[] = ['js', 'python', 'other'];

/** Python's str.isspace(), which the protocol's "no token contains whitespace" means. */
const PYTHON_SPACE = /[\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Pieces of code where the lexer makes its decisions: literal and comment boundaries, regex or division, escapes. */
const FRAGMENTS: readonly string[] = [
  "'", '"', '`', "'''", '"""', 'r"', "b'", 'f"""', '${', '}', '{', '(', ')', '[', ']', '/', '//', '/*', '*/', '/=',
  '/a+b/g', '/[/]/', '/[', '/"/', '/\\/', '\\', '\\\\', '\\\n', '\n', '\r\n', '\r', ' ', '\t', '\u00a0', '\u3000',
  '\u2028', '#', '=', '(/', '=/', 'return', 'typeof', 'x', 'a1', '_$', '0x1F', '1.5e-3', '.5', '1.', '?.', '?.5',
  '...', '>>>=', '=>', ';', ',', ':', '+', '*', '\u0661', '\u00b2', '\u{1f600}', '\ud800', '\udc00', '\ufeff', '\u2581',
];

/** Random bytes read as UTF-8 the lenient way, so invalid sequences become U+FFFD as an editor shows them. */
function randomUtf8(random: FuzzRandom): string {
  return new TextDecoder('utf-8').decode(random.bytes(random.nextInt(200)));
}

/** Random UTF-16 code units, lone surrogates included, biased towards ASCII punctuation. */
function randomCodeUnits(random: FuzzRandom): string {
  const units: number[] = [];
  const length = random.nextInt(120);
  for (let k = 0; k < length; k++) {
    const roll = random.next();
    if (roll < 0.6) units.push(0x09 + random.nextInt(0x7f - 0x09));
    else if (roll < 0.75) units.push(0xd800 + random.nextInt(0x800));
    else units.push(random.nextInt(0x10000));
  }
  return String.fromCharCode(...units);
}

function randomFragments(random: FuzzRandom): string {
  let text = '';
  const count = 1 + random.nextInt(60);
  for (let k = 0; k < count; k++) text += random.pick(FRAGMENTS);
  return text;
}

/** Templates, braces and brackets nested up to `maxDepth` deep, then closed (or not) at random. */
function randomNesting(random: FuzzRandom, maxDepth: number): string {
  const depth = 1 + random.nextInt(maxDepth);
  const open = random.pick(['`${', '`${\n', '`a${ (/[', '{`${', '${`', '`${`${']);
  const close = random.pick(['}`', '`}', '}', '']);
  return `x = ${open.repeat(depth)}${random.pick(FRAGMENTS)}${close.repeat(random.nextInt(depth + 1))}`;
}

function randomInput(random: FuzzRandom): string {
  const roll = random.next();
  if (roll < 0.2) return randomUtf8(random);
  if (roll < 0.35) return randomCodeUnits(random);
  if (roll < 0.9) return randomFragments(random);
  return randomNesting(random, random.chance(0.1) ? 5000 : 200);
}

/** The reference recurses on template nesting; Python stops it a few hundred levels deep. */
function referenceCanLex(text: string): boolean {
  return text.split('`').length < 100;
}

describe('lexer fuzz', function () {
  this.timeout(0);
  after(removeTempDirs);

  const baseRuns = 3000;
  const runs = fuzzRuns(baseRuns);
  // The golden sample holds the default seed's first `baseRuns` inputs: a longer run starts with them.
  const goldenCoversAll = runs === baseRuns && process.env.METACOMPLETE_FUZZ_SEED === undefined;

  it(`never throws, never emits an empty or whitespace-bearing token, and is deterministic on ${runs} random inputs (reference: ${referenceSource()})`, () => {
    const random = new FuzzRandom('lexer');
    // A sample of the inputs is checked against the reference too, in one python3 run at the end.
    const parity: Snippet[] = [];
    for (let run = 0; run < runs; run++) {
      const text = randomInput(random);
      for (const kind of KINDS) {
        const tokens = tokenize(text, kind);
        for (const token of tokens) {
          if (token === '' || PYTHON_SPACE.test(token)) {
            assert.fail(`${kind} input ${JSON.stringify(text.slice(0, 200))} gave the token ${JSON.stringify(token.slice(0, 80))}`);
          }
        }
        assert.deepEqual(tokenize(text, kind), tokens, `${kind} input ${JSON.stringify(text.slice(0, 200))} lexed twice differently`);
      }
      if (run % 10 === 0 && referenceCanLex(text)) {
        for (const kind of KINDS) parity.push({ text, isPython: kind === 'python', isJs: kind === 'js' });
      }
    }
    if (process.env.METACOMPLETE_GOLDEN === 'update' && !goldenCoversAll) {
      throw new Error('Write the golden fuzz sample with the default METACOMPLETE_FUZZ_RUNS and METACOMPLETE_FUZZ_SEED (unset).');
    }
    const expected = referenceTokenize('lexer-fuzz-sample', parity, { partial: !goldenCoversAll });
    if (!goldenCoversAll) console.log(`      compared ${expected.covered} of ${parity.length} sampled inputs with the reference (${expected.source})`);
    const differing = parity.filter((snippet, k) => {
      const kind = snippet.isPython ? 'python' : snippet.isJs ? 'js' : 'other';
      return !expected.agrees(k, tokenize(snippet.text, kind));
    });
    assert.deepEqual(differing.slice(0, 3), [], `${differing.length} of ${expected.covered} sampled inputs lex unlike the reference (${expected.source})`);
  });

  it('takes time linear in the input on long lines of random regex-like fragments, bare and in a template', function () {
    const random = new FuzzRandom('lexer linear time');
    // No quote, comment or ']' to swallow the line: every '/' after '(', '=' or ',' may start a regex that never ends.
    const hostile = ['(/[', '=/[', ', /[', '(/\\[', '(', '=', '/', '[', '[/', '\\', 'x', ' ', ',', ';', '!', '+'];
    const cases: [LanguageKind, string, string][] = [['js', '', ''], ['js', '`${', '}`'], ['python', 'f`${', '}`'], ['other', '`${', '}`']];
    for (const [kind, head, tail] of cases) {
      let unit = '';
      while (unit.length < 64) unit += random.pick(hostile);
      assertLinearTime(`${kind} ${JSON.stringify(head + unit + tail)}`, (scale) => {
        const text = head + unit.repeat(Math.ceil((scale * 32_000) / unit.length)) + tail;
        return () => tokenize(text, kind);
      });
    }
  });
});
