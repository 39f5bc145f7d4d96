import * as assert from 'node:assert/strict';
import { CompletionEngine } from '../../../../src/core/engine/completionEngine';
import { TaskGraph } from '../../../../src/core/graph/taskGraph';
import { encodeEngineIndex } from '../../../../src/core/persist/engineIndexFile';
import { tokenize } from '../../../../src/core/text/lexer';
import { Vocabulary } from '../../../../src/core/text/vocabulary';
import { withLexerThrowingOn } from '../text/throwingLexer';
import { assertLinearTime } from '../../linearTime';
import { ORDINARY_CODE, SECRETS, SECRET_NPMRC, SECRET_TS, filler } from '../text/secretFixtures';

const encode = (text: string) => new TextEncoder().encode(text);

function workspace(engine: CompletionEngine): void {
  for (let i = 0; i < 6; i++) {
    engine.updateFile(
      `src/ledger/account${i}.ts`,
      encode(`import { quorvexLedger } from './quorvex';\nexport function post${i}(amount: number) {\n  return quorvexLedger.settleBalance(amount, ${i});\n}\n`),
    );
  }
  engine.updateFile('src/util/strings.ts', encode('export function pad(text: string) {\n  return text.padStart(4);\n}\n'));
}

describe('CompletionEngine', () => {
  it('suggests a repository identifier after its usual context, with the typed prefix', () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const completion = engine.complete('src/ledger/new.ts', 'export function fresh(amount: number) {\n  return quorvexLedger.sett', 5);
    assert.equal(completion.typedPrefix, 'sett');
    assert.equal(completion.suggestions[0].token, 'settleBalance');
    for (const suggestion of completion.suggestions) assert.ok(suggestion.token.startsWith('sett'));
  });

  it('ranks the learned member first when nothing is typed, with probabilities in (0, 1]', () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const completion = engine.complete('src/ledger/new.ts', 'function f() {\n  return quorvexLedger.', 3);
    assert.equal(completion.typedPrefix, '');
    assert.equal(completion.suggestions[0].token, 'settleBalance');
    const probabilities = completion.suggestions.map((suggestion) => suggestion.probability);
    assert.ok(probabilities.every((p) => p > 0 && p <= 1));
    assert.deepEqual([...probabilities].sort((a, b) => b - a), probabilities);
  });

  it('forgets a removed file: its identifiers are no longer suggested', () => {
    const engine = new CompletionEngine();
    engine.updateFile('a.ts', encode('const zyxwaldo = 1; zyxwaldo.toString();'));
    engine.updateFile('b.ts', encode('const other = 2;'));
    assert.ok(engine.complete('c.ts', 'zyx', 5).suggestions.some((s) => s.token === 'zyxwaldo'));
    assert.equal(engine.removeFile('a.ts'), true);
    assert.equal(engine.removeFile('a.ts'), false);
    assert.ok(!engine.complete('c.ts', 'zyx', 5).suggestions.some((s) => s.token === 'zyxwaldo'));
    assert.equal(engine.stats().files, 1);
  });

  it('skips bad input with a reason and keeps what it had', () => {
    const engine = new CompletionEngine();
    engine.updateFile('good.ts', encode('const keepMe = 1;'));
    const binary = engine.updateFile('img.ts', new Uint8Array([1, 0, 2, 3]));
    assert.equal(binary.status, 'skipped');
    assert.match(binary.status === 'skipped' ? binary.reason : '', /binary/);
    const invalid = engine.updateFile('bad.ts', new Uint8Array([0x63, 0xff, 0xfe, 0x3b]));
    assert.equal(invalid.status, 'skipped');
    assert.equal(engine.stats().files, 1);
    assert.ok(engine.complete('x.ts', 'keep', 3).suggestions.some((s) => s.token === 'keepMe'));
  });

  it('adapts to the file being typed: a name used earlier in the file comes back', () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const before = 'function g() {\n  const blorptastic = 3;\n  return blorptastic + blorptastic + blo';
    const completion = engine.complete('src/new.ts', before, 3);
    assert.equal(completion.suggestions[0].token, 'blorptastic');
  });

  it('continues a line by beam search, with the typed prefix, up to the end of the statement', () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const rules = { closerAfter: '' };
    const options = { beamWidth: 4, maxTokens: 16, minProbability: 0.05 };
    const path = 'src/ledger/new.ts';
    const line = engine.continueLine(path, 'export function post9(amount: number) {\n  return quorvexLedger.sett', rules, options);
    assert.equal(line.typedPrefix, 'sett');
    assert.deepEqual(line.tokens.slice(0, 3), ['settleBalance', '(', 'amount']);
    assert.ok([';', '{'].includes(line.tokens[line.tokens.length - 1]), `the line runs to its end: ${line.tokens.join(' ')}`);
    assert.ok(line.probability > 0 && line.probability <= 1);
    // Stops before the closer the line already has after the cursor.
    const inCall = engine.continueLine(path, 'export function post9(amount: number) {\n  return quorvexLedger.settleBalance(amount, 3', { closerAfter: ')' }, options);
    assert.deepEqual(inCall.tokens, []);
  });

  it('does not teach the file cache what ghost text only proposed', () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const path = 'src/ledger/new.ts';
    const text = 'function h() {\n  const wibblequark = 1;\n  return ';
    const before = engine.complete(path, text, 5);
    engine.continueLine(path, text, { closerAfter: '' }, { beamWidth: 4, maxTokens: 16, minProbability: 0.01 });
    assert.deepEqual(engine.complete(path, text, 5), before);
  });

  it("gives the tokens of a text's nearest files, most similar first, never the file's own", () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const text = 'export function post9(amount: number) {\n  return quorvexLedger.settleBalance(amount, 9);\n}\n';
    engine.updateFile('src/ledger/account9.ts', encode(text));
    const near = engine.neighbourTokens('src/ledger/account9.ts', tokenize(text, 'js'), 3);
    assert.equal(near.length, 3);
    for (const tokens of near) {
      assert.ok(tokens.includes('quorvexLedger'), 'a ledger file, not the string helper');
      assert.ok(!tokens.includes('post9'), 'not the file itself');
    }
  });

  it('skips a file whose lexing throws, with the reason, learns the rest of the batch and forgets its old content', () => {
    const engine = new CompletionEngine();
    engine.updateFile('b.ts', encode('const zyxwaldo = 1;'));
    const updates = withLexerThrowingOn('quorvexBoom', () =>
      ['a.ts', 'b.ts', 'c.ts'].map((path, i) => engine.updateFile(path, encode(i === 1 ? 'quorvexBoom();' : `const plimsoll${i} = ${i};`))),
    );
    assert.deepEqual(updates.map((update) => update.status), ['learned', 'skipped', 'learned']);
    assert.deepEqual(updates[1], { path: 'b.ts', status: 'skipped', reason: 'could not be lexed (Maximum call stack size exceeded)' });
    assert.equal(engine.stats().files, 2);
    assert.ok(!engine.complete('d.ts', 'zyx', 5).suggestions.some((s) => s.token === 'zyxwaldo'));
  });

  it('skips a file whose learning throws, with the reason, and keeps serving the others', () => {
    const engine = new CompletionEngine();
    engine.updateFile('b.ts', encode('const zyxwaldo = 1;'));
    const internAll = Vocabulary.prototype.internAll;
    Vocabulary.prototype.internAll = function (this: Vocabulary, tokens: readonly string[]) {
      if (tokens.includes('quorvexBoom')) throw new RangeError('Array buffer allocation failed');
      return internAll.call(this, tokens);
    };
    let updates;
    try {
      updates = [engine.updateFile('a.ts', encode('const plimsoll = 1;')), engine.updateFile('b.ts', encode('quorvexBoom();'))];
    } finally {
      Vocabulary.prototype.internAll = internAll;
    }
    assert.deepEqual(updates[1], { path: 'b.ts', status: 'skipped', reason: 'could not be learned (Array buffer allocation failed)' });
    assert.equal(engine.stats().files, 1);
    assert.equal(engine.complete('d.ts', 'plim', 3).suggestions[0].token, 'plimsoll');
    assert.ok(!engine.complete('d.ts', 'zyx', 5).suggestions.some((s) => s.token === 'zyxwaldo'));
    assert.equal(engine.exportState().files.length, 1, 'what is saved agrees with what is learned');
  });

  it('completes in time linear in the text before the cursor, even on a line of failing regex starts', function () {
    this.timeout(300_000);
    const engine = new CompletionEngine();
    workspace(engine);
    assertLinearTime('complete() after "(/[" repeated', (scale) => {
      const textBefore = `x = ${'(/['.repeat(scale * 5_000)}`;
      return () => engine.complete('src/ledger/new.ts', textBefore, 5);
    });
  });

  it('answers completions while the workspace grows without re-weighting the whole task graph in them', () => {
    const engine = new CompletionEngine();
    const moduleText = (i: number): string =>
      `import { store${i % 7} } from './store';\nexport function handle${i}(event: Event${i % 5}) {\n` +
      `  const value${i} = store${i % 7}.read(event.key${i % 3});\n  return value${i}.map((item) => item.name${i % 11});\n}\n`;
    // 40 statements: the typed file passes 32 and 64 tokens, where completions ask the graph for its neighbours.
    const typed = Array.from({ length: 40 }, (_, i) => `const a${i % 4} = store${i % 7}.read(b);`).join('\n');
    let fullReweights = 0;
    const reweight = TaskGraph.prototype.reweight;
    TaskGraph.prototype.reweight = function (this: TaskGraph): void {
      fullReweights++;
      reweight.call(this);
    };
    try {
      for (let i = 0; i < 300; i++) {
        engine.updateFile(`src/area${i % 6}/module${i}.ts`, encode(moduleText(i)));
        // A new path each time, so the completion reads its text from the start and asks the graph afresh.
        if (i % 5 === 4) assert.ok(engine.complete(`src/typed${i}.ts`, `${typed}\nstore1.`, 5).suggestions.length > 0);
      }
    } finally {
      TaskGraph.prototype.reweight = reweight;
    }
    assert.equal(fullReweights, 0, 'full re-weightings of the task graph, all paid by completions');
    assert.ok(engine.stats().communities > 0);
  });

  it('serialises the task graph with one node per learned file', () => {
    const engine = new CompletionEngine();
    workspace(engine);
    const snapshot = JSON.parse(JSON.stringify(engine.snapshot()));
    assert.equal(snapshot.nodes.length, 7);
    assert.ok(snapshot.edges.length > 0);
  });

  describe('secrets', () => {
    const ghost = { beamWidth: 4, maxTokens: 16, minProbability: 0.001 };
    /** Every token the engine learned, saved, or offers after `context` (suggest list and ghost text). */
    function reachable(engine: CompletionEngine, contexts: readonly string[]): { where: string; text: string }[] {
      const found = engine.trainingFiles().flatMap((file) => file.tokens.map((token) => ({ where: `learned from ${file.path}`, text: token })));
      found.push({ where: 'saved index', text: encodeEngineIndex(engine.exportState()).toString('latin1') });
      for (const context of contexts) {
        for (const suggestion of engine.complete('open.ts', context, 50).suggestions) found.push({ where: `suggested after ${context}`, text: suggestion.token });
        found.push({ where: `ghost text after ${context}`, text: engine.continueLine('open.ts', context, { closerAfter: '' }, ghost).tokens.join(' ') });
      }
      return found;
    }

    function assertNoSecret(found: readonly { where: string; text: string }[]): void {
      for (const secret of SECRETS) {
        const leak = found.find((item) => item.text.includes(secret.fragment));
        assert.equal(leak, undefined, `${secret.name} reached the ${leak?.where}`);
      }
    }

    it("learns a workspace file with secrets but never learns, saves or suggests the secrets, the key after 64 KB included", () => {
      const engine = new CompletionEngine();
      for (let i = 0; i < 3; i++) {
        assert.equal(engine.updateFile(`src/config${i}.ts`, encode(SECRET_TS)).status, 'learned');
        assert.equal(engine.updateFile(`linked/npmrc${i}.py`, encode(SECRET_NPMRC)).status, 'learned');
      }
      const learned = engine.trainingFiles().find((file) => file.path === 'src/config0.ts')?.tokens ?? [];
      assert.ok(learned.includes('total900') && learned.includes('deployKey'), 'the rest of the file is learned');
      assert.ok(learned.includes('password'), 'the names are learned, only the values are not');
      assertNoSecret(reachable(engine, ['let password = ', 'export const login = { user: ', 'export const deployKey = ', '//registry.npmjs.org/:_authToken=', 'const stripe = new Stripe(']));
    });

    it('never learns a secret typed in the open document, from a completion request or ghost text', () => {
      const engine = new CompletionEngine();
      workspace(engine);
      const typed = `${SECRET_TS}\n${SECRET_NPMRC}\nconst next = `;
      engine.complete('open.ts', typed, 5);
      engine.continueLine('open.py', SECRET_NPMRC, { closerAfter: '' }, ghost);
      assertNoSecret(reachable(engine, [typed]));
    });

    it('learns ordinary code that names tokens, passwords and keys token for token', () => {
      const engine = new CompletionEngine();
      engine.updateFile('src/ordinary.ts', encode(ORDINARY_CODE));
      assert.deepEqual(engine.trainingFiles()[0].tokens, tokenize(ORDINARY_CODE, 'js'));
    });

    it('never offers a 24 KB template literal, though it learns it', () => {
      const engine = new CompletionEngine();
      const template = `\`${filler(24 * 1024)}\``;
      for (let i = 0; i < 4; i++) engine.updateFile(`src/big${i}.ts`, encode(`export const big = ${template};\n`));
      assert.ok(engine.trainingFiles()[0].tokens.some((token) => token.length > 24_000), 'the literal is learned');
      const suggestions = engine.complete('open.ts', 'export const big = ', 10).suggestions;
      assert.ok(suggestions.every((suggestion) => suggestion.token.length <= 200), 'suggested');
      const line = engine.continueLine('open.ts', 'export const big = ', { closerAfter: '' }, ghost);
      assert.ok(line.tokens.every((token) => token.length <= 200), 'ghost text');
    });
  });
});
