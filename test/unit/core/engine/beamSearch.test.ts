import * as assert from 'node:assert/strict';
import { beamSearch, lineStep } from '../../../../src/core/engine/beamSearch';
import type { BeamModel, BeamOptions, Candidate, LineRules } from '../../../../src/core/engine/beamSearch';
import { isSuggestible } from '../../../../src/core/text/secrets';

/**
 * A language model given as a table: the candidates after each generated
 * prefix (tokens joined by spaces, '' for the root). Unknown prefixes have
 * no candidates. Counts the hypotheses it is asked to expand.
 */
function tableModel(table: Record<string, Candidate[]>): BeamModel & { expanded: string[] } {
  let prefixes = [''];
  const expanded: string[] = [];
  return {
    expanded,
    root: () => table[''] ?? [],
    expand: (hypotheses) => {
      prefixes = hypotheses.map(({ parent, token }) => (prefixes[parent] === '' ? token : `${prefixes[parent]} ${token}`));
      expanded.push(...prefixes);
      return prefixes.map((prefix) => table[prefix] ?? []);
    },
  };
}

const js: LineRules = { language: 'js', closerAfter: '', isForbidden: (token) => !isSuggestible(token) };
const options: BeamOptions = { beamWidth: 4, maxTokens: 16, minProbability: 0.05 };
const greedy: BeamOptions = { ...options, beamWidth: 1 };
/** A near-certain next token. */
const only = (token: string, probability = 0.99): Candidate[] => [{ token, probability }];

describe('beamSearch', () => {
  it('continues the line to the end of the statement', () => {
    const model = tableModel({
      '': only('GlimmerwartQueue'),
      GlimmerwartQueue: only('('),
      'GlimmerwartQueue (': only('3'),
      'GlimmerwartQueue ( 3': only(')'),
      'GlimmerwartQueue ( 3 )': only(';'),
      'GlimmerwartQueue ( 3 ) ;': only('foo'),
    });
    assert.deepEqual(beamSearch(model, js, options)?.tokens, ['GlimmerwartQueue', '(', '3', ')', ';']);
  });

  it('shows the likeliest whole line, which greedy decoding misses', () => {
    // Greedy takes `shortName` (0.5), then faces a spread of arguments; `longerName` (0.4) is followed by a sure `();`.
    const table: Record<string, Candidate[]> = {
      '': [{ token: 'shortName', probability: 0.5 }, { token: 'longerName', probability: 0.4 }],
      shortName: [{ token: 'x', probability: 0.1 }, { token: 'y', probability: 0.1 }, { token: 'z', probability: 0.1 }],
      'shortName x': only(';'),
      longerName: only('('),
      'longerName (': only(')'),
      'longerName ( )': only(';'),
    };
    const beam = beamSearch(tableModel(table), js, options);
    const first = beamSearch(tableModel(table), js, greedy);
    // Whole lines: `shortName x;`, 0.5 × 0.1 × 0.99 over 3 tokens, against `longerName();`, 0.4 × 0.99³ over 4.
    assert.deepEqual(first?.tokens, ['shortName', 'x', ';']);
    assert.deepEqual(beam?.tokens, ['longerName', '(', ')', ';']);
    assert.ok(Math.abs((beam?.probability ?? 0) - 0.4 * 0.99 ** 3) < 1e-12);
  });

  it('does not let a bare `;` or an early `;` beat a whole statement whose every step is likelier', () => {
    // After `for (const entry of entries) `: a bare `;` (0.2), `sum;` (0.5 × 0.4 = 0.2) and
    // `sum += entry;` (0.5 × 0.45 × 0.9 × 0.9 = 0.18): the whole statement has the strongest weakest step.
    const table: Record<string, Candidate[]> = {
      '': [{ token: 'wibbleFractalSum', probability: 0.5 }, { token: ';', probability: 0.2 }],
      wibbleFractalSum: [{ token: '+=', probability: 0.45 }, { token: ';', probability: 0.4 }],
      'wibbleFractalSum +=': only('snorkelEntry', 0.9),
      'wibbleFractalSum += snorkelEntry': only(';', 0.9),
    };
    assert.deepEqual(beamSearch(tableModel(table), js, options)?.tokens, ['wibbleFractalSum', '+=', 'snorkelEntry', ';']);
  });

  it('prefers the end of the statement to a run of sure tokens cut at the token limit', () => {
    const table: Record<string, Candidate[]> = {
      '': only('sum'),
      sum: only('+='),
      'sum +=': only('entry'),
      'sum += entry': [{ token: ';', probability: 0.5 }, { token: 'of', probability: 0.45 }],
    };
    // After `of`, a memorised call: every token sure, the line longer than the limit.
    let prefix = 'sum += entry of';
    for (const token of ['frobnicate', '(', '[', '2', ',', '3', ',', '5', ']', ',', '4', ')', ';']) {
      table[prefix] = only(token, 0.999);
      prefix = `${prefix} ${token}`;
    }
    assert.deepEqual(beamSearch(tableModel(table), js, options)?.tokens, ['sum', '+=', 'entry', ';']);
  });

  it('prefers the likelier end of a statement to a longer, less likely line', () => {
    // After `total += item` the statement likely ends; the loop header's `of items)` is less likely and longer.
    const table: Record<string, Candidate[]> = {
      '': only('total'),
      total: only('+='),
      'total +=': only('item'),
      'total += item': [{ token: ';', probability: 0.6 }, { token: 'of', probability: 0.35 }],
      'total += item of': only('items'),
      'total += item of items': only(')'),
      'total += item of items )': only('{'),
    };
    assert.deepEqual(beamSearch(tableModel(table), js, options)?.tokens, ['total', '+=', 'item', ';']);
  });

  it('completes the line past an unsure token, and stops before it when it is below minProbability', () => {
    const digits = Array.from({ length: 6 }, (_, i): Candidate => ({ token: String(i), probability: 1 / 6 }));
    const table: Record<string, Candidate[]> = {
      '': only('settleBalance'),
      settleBalance: only('('),
      'settleBalance (': only('amount'),
      'settleBalance ( amount': only(','),
      'settleBalance ( amount ,': digits,
    };
    for (const digit of digits) table[`settleBalance ( amount , ${digit.token}`] = only(')');
    for (const digit of digits) table[`settleBalance ( amount , ${digit.token} )`] = only(';');
    const line = beamSearch(tableModel(table), js, options);
    assert.deepEqual(line?.tokens.slice(0, 4), ['settleBalance', '(', 'amount', ',']);
    assert.deepEqual(line?.tokens.slice(5), [')', ';']);
    // Below minProbability the line stops instead.
    assert.deepEqual(beamSearch(tableModel(table), js, { ...options, minProbability: 0.2 })?.tokens, ['settleBalance', '(', 'amount', ',']);
  });

  it('shows the partial line worth most when no line is complete, not counting the typed prefix as saved', () => {
    // `abcdefgh` (0.6) alone against `abcdxy foobar ( )` (0.3, then sure); neither line ends.
    const table: Record<string, Candidate[]> = {
      '': [{ token: 'abcdefgh', probability: 0.6 }, { token: 'abcdxy', probability: 0.3 }],
      abcdxy: only('foobar', 1),
      'abcdxy foobar': only('(', 1),
      'abcdxy foobar (': only(')', 1),
    };
    // Nothing typed: 8 × 0.6 = 4.8 characters expected against 14 × 0.3 = 4.2.
    assert.deepEqual(beamSearch(tableModel(table), js, options)?.tokens, ['abcdefgh']);
    // "abcd" typed: 4 × 0.6 = 2.4 against 10 × 0.3 = 3.0.
    assert.deepEqual(beamSearch(tableModel(table), { ...js, typedPrefix: 'abcd' }, options)?.tokens, ['abcdxy', 'foobar', '(', ')']);
  });

  it('keeps at most beamWidth hypotheses per step', () => {
    const wide = Array.from({ length: 10 }, (_, i): Candidate => ({ token: `t${i}`, probability: 0.09 }));
    let expanded = 0;
    const model: BeamModel = {
      root: () => wide,
      expand: (hypotheses) => {
        expanded += hypotheses.length;
        return hypotheses.map(() => wide);
      },
    };
    beamSearch(model, js, { ...options, beamWidth: 3, maxTokens: 4 });
    // Tokens 2, 3 and 4 are asked after three hypotheses each; the fourth token ends every one.
    assert.equal(expanded, 9);
  });

  it('stops before a closer the line already has after the cursor, and before a `}` of the next line', () => {
    const table = { '': only('snorkelbatchDepth'), snorkelbatchDepth: only(')'), 'snorkelbatchDepth )': only(';') };
    assert.deepEqual(beamSearch(tableModel(table), { ...js, closerAfter: ')' }, options)?.tokens, ['snorkelbatchDepth']);
    assert.deepEqual(beamSearch(tableModel(table), js, options)?.tokens, ['snorkelbatchDepth', ')', ';']);
    assert.deepEqual(beamSearch(tableModel({ '': only('done'), done: only('}') }), js, options)?.tokens, ['done']);
    // Nor does it go on with a less likely token when the likeliest is the closer.
    const closing = { '': only('total'), total: [{ token: ')', probability: 0.8 }, { token: '+', probability: 0.15 }], 'total +': only('1') };
    assert.deepEqual(beamSearch(tableModel(closing), { ...js, closerAfter: ')' }, options)?.tokens, ['total']);
  });

  it('stops at unlikely tokens and at the token limit', () => {
    assert.equal(beamSearch(tableModel({ '': only('x', 0.01) }), js, options), undefined);
    const endless: Record<string, Candidate[]> = { '': only('a') };
    for (let n = 1; n < 10; n++) endless[Array(n).fill('a').join(' ')] = only('a');
    assert.equal(beamSearch(tableModel(endless), js, { ...options, maxTokens: 3 })?.tokens.length, 3);
  });

  it('ends a Python line after its colon, a JS line after `;` or `{`', () => {
    const python = { '': only('run'), run: only('('), 'run (': only(')'), 'run ( )': only(':'), 'run ( ) :': only('pass') };
    assert.deepEqual(beamSearch(tableModel(python), { ...js, language: 'python' }, options)?.tokens, ['run', '(', ')', ':']);
    const block = { '': only('if'), if: only('('), 'if (': only('x'), 'if ( x': only(')'), 'if ( x )': only('{'), 'if ( x ) {': only('y') };
    assert.deepEqual(beamSearch(tableModel(block), js, options)?.tokens, ['if', '(', 'x', ')', '{']);
  });

  it('never proposes a secret-looking literal', () => {
    const table = { '': only("'q8Zr3Kp0Vx7LmN2sTb9WcY4h'"), "'q8Zr3Kp0Vx7LmN2sTb9WcY4h'": only(';') };
    assert.equal(beamSearch(tableModel(table), js, options), undefined);
    assert.deepEqual(lineStep(0, "'q8Zr3Kp0Vx7LmN2sTb9WcY4h'", js), { kind: 'refuse' });
  });
});
