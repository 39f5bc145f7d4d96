import { strict as assert } from 'node:assert';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compareCodePoints, isSkippedFile, loadCorpus, prepareFile } from '../../../../src/core/text/corpus';
import type { CorpusFile } from '../../../../src/core/text/corpus';
import { writeTokenDump } from '../../../../src/core/text/dump';
import { splitOf } from '../../../../src/core/text/split';
import { SECRETS, SECRET_NPMRC, SECRET_TS } from './secretFixtures';
import { freshTempDir, readTokenFiles, referencePrepare, referenceSource, removeTempDirs, repoRoot, shortHash } from './referenceLexer';
import { withLexerThrowingOn } from './throwingLexer';

function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [relPath, content] of Object.entries(files)) {
    const target = join(root, ...relPath.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}

describe('corpus', () => {
  after(removeTempDirs);

  describe('loadCorpus on a messy folder', () => {
    let root: string;
    let result: ReturnType<typeof loadCorpus>;

    before(() => {
      root = freshTempDir('metacomplete-corpus-');
      writeTree(root, {
        'src/a.ts': 'export const a = 1;\n',
        'src/b.py': 'x = 1  # one\n',
        'src/Main.java': 'class Main {}\n',
        'src/deep/er/c.mjs': 'export default 2;\n',
        'src/binary.js': new Uint8Array([0x61, 0x3d, 0x00, 0x31]),
        'src/latin1.js': new Uint8Array([0x63, 0x3d, 0x27, 0xe9, 0x27, 0x0a]),
        'src/empty.ts': '',
        'src/only-comments.ts': '// nothing here\n/* at all */\n',
        'src/huge.min.js': 'x'.repeat(5 * 1024 * 1024),
        'src/bundle.min.js': 'var a=1;'.repeat(25_000),
        'src/types.d.ts': 'export declare const a: number;\n',
        'src/README.md': '# not code\n',
        'node_modules/dep/index.js': 'module.exports = 1;\n',
        '.git/hooks/pre-commit.js': 'run();\n',
        'src/.eslintrc.js': 'module.exports = {};\n',
      });
      symlinkSync(join(root, 'missing-target.ts'), join(root, 'src', 'dangling.ts'));
      result = loadCorpus(root);
    });

    const reasonOf = (relPath: string): string | undefined => result.skipped.find((s) => s.relPath === relPath)?.reason;

    it('loads the good files in path order with their protocol split', () => {
      assert.deepEqual(
        result.files.map((f) => f.relPath),
        ['src/Main.java', 'src/a.ts', 'src/b.py', 'src/deep/er/c.mjs'],
      );
      for (const file of result.files) assert.equal(file.split, splitOf(file.relPath));
      assert.deepEqual(result.files[2].tokens, ['x', '=', '1']);
    });

    it('skips each bad file with a reason a user can act on', () => {
      assert.equal(reasonOf('src/binary.js'), 'binary file (NUL byte in the first 8 KB)');
      assert.equal(reasonOf('src/latin1.js'), 'not valid UTF-8 text');
      assert.equal(reasonOf('src/empty.ts'), 'no tokens');
      assert.equal(reasonOf('src/only-comments.ts'), 'no tokens');
      assert.equal(reasonOf('src/huge.min.js'), 'file is 5242880 bytes, over the 1048576-byte limit');
      assert.match(reasonOf('src/bundle.min.js') ?? '', /^looks minified or generated \(line 1 has 200000 characters\)$/);
      assert.equal(reasonOf('src/types.d.ts'), 'TypeScript declaration file');
      assert.match(reasonOf('src/dangling.ts') ?? '', /^could not be read: .*ENOENT/);
      assert.equal(reasonOf('src/.eslintrc.js'), 'hidden file');
    });

    it('does not enter node_modules or dot-folders, and says so', () => {
      assert.equal(reasonOf('node_modules'), 'dependency folder (node_modules), not entered');
      assert.equal(reasonOf('.git'), 'hidden folder, not entered');
      assert.ok(!result.files.some((f) => f.relPath.startsWith('node_modules/') || f.relPath.startsWith('.git/')));
      assert.ok(!result.skipped.some((s) => s.relPath.startsWith('node_modules/')));
    });

    it('ignores files with other extensions without listing them', () => {
      assert.equal(reasonOf('src/README.md'), undefined);
      assert.ok(!result.files.some((f) => f.relPath.endsWith('.md')));
    });

    it('honours custom extensions and size limit', () => {
      const only = loadCorpus(root, { extensions: ['.py'], maxFileBytes: 8 });
      assert.deepEqual(only.files, []);
      assert.equal(only.skipped.find((s) => s.relPath === 'src/b.py')?.reason, 'file is 13 bytes, over the 8-byte limit');
    });

    it('skips a file the lexer throws on, naming the failure, and still loads the rest', () => {
      const loaded = withLexerThrowingOn('quorvexBoom', () => {
        writeTree(root, { 'src/boom.ts': 'const quorvexBoom = 1;\n' });
        try {
          return loadCorpus(root);
        } finally {
          rmSync(join(root, 'src', 'boom.ts'));
        }
      });
      assert.deepEqual(loaded.files.map((f) => f.relPath), result.files.map((f) => f.relPath));
      assert.equal(loaded.skipped.find((s) => s.relPath === 'src/boom.ts')?.reason, 'could not be lexed (Maximum call stack size exceeded)');
    });

    it('fails with a clear message when the folder is missing', () => {
      assert.throws(() => loadCorpus(join(root, 'nope')), /does not exist or is not a folder/);
    });
  });

  it('sorts paths by code point, as Python does', () => {
    const root = freshTempDir('metacomplete-order-');
    const names = ['z.ts', 'a\u{1f600}.ts', 'a\uffff.ts', 'B.ts', 'a/b.ts', 'a.ts'];
    writeTree(root, Object.fromEntries(names.map((name) => [name, 'x\n'])));
    const loaded = loadCorpus(root).files.map((f) => f.relPath);
    assert.deepEqual(loaded, ['B.ts', 'a.ts', 'a/b.ts', 'a\uffff.ts', 'a\u{1f600}.ts', 'z.ts']);
    assert.ok(compareCodePoints('\uffff', '\u{10000}') < 0);
    assert.ok(compareCodePoints('\ud7ff', '\ue000') < 0);
  });

  describe('prepareFile', () => {
    it('returns tokens and split for a good file', () => {
      const result = prepareFile('lib/x.ts', new TextEncoder().encode('let y = `a ${b}`;\n'));
      assert.ok(!isSkippedFile(result));
      assert.deepEqual(result, { relPath: 'lib/x.ts', split: splitOf('lib/x.ts'), tokens: ['let', 'y', '=', '`a\u2581${b}`', ';'] });
    });

    it('keeps a file that holds secrets, without the secrets: the CLI never learns them', () => {
      for (const [path, text] of [['config.ts', SECRET_TS], ['npmrc.py', SECRET_NPMRC]]) {
        const result = prepareFile(path, new TextEncoder().encode(text));
        assert.ok(!isSkippedFile(result), `${path} is learned`);
        for (const secret of SECRETS) {
          assert.ok(!result.tokens.some((token) => token.includes(secret.fragment)), `${secret.name} is learned from ${path}`);
        }
      }
    });

    it('reads text as the reference does: BOM kept, CRLF and CR turned into LF', () => {
      const bytes = new TextEncoder().encode('\ufeffa = "open\r\nb\rc');
      const result = prepareFile('x.py', bytes) as CorpusFile;
      assert.deepEqual(result.tokens, ['\ufeff', 'a', '=', '"open', 'b', 'c']);
    });

    it('flags a file of many very long lines as generated', () => {
      const text = `${'const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];'.repeat(6)}\n`.repeat(20);
      const result = prepareFile('gen.js', new TextEncoder().encode(text));
      assert.ok(isSkippedFile(result));
      assert.match(result.reason, /^looks minified or generated \(mean line length \d+ characters\)$/);
    });

    it('keeps a short file even when its lines are long', () => {
      const result = prepareFile('short.js', new TextEncoder().encode(`${'a + '.repeat(100)}b\n`));
      assert.ok(!isSkippedFile(result));
    });
  });

  describe(`parity with the reference on rxjs 7.8.1 (reference: ${referenceSource()})`, function () {
    this.timeout(20_000);
    const rxjsRoot = join(repoRoot(), 'node_modules', 'rxjs', 'src');
    let reference: ReturnType<typeof referencePrepare>;
    let ours: ReturnType<typeof loadCorpus>;

    before(() => {
      reference = referencePrepare('corpus-rxjs-7.8.1', 'rxjs', rxjsRoot, '**/*.ts', ['.d.ts']);
      ours = loadCorpus(rxjsRoot, { extensions: ['.ts'] });
    });

    it("matches the protocol's anchor counts", () => {
      const count = (split: string): { files: number; tokens: number } => {
        const files = ours.files.filter((f) => f.split === split);
        return { files: files.length, tokens: files.reduce((sum, f) => sum + f.tokens.length, 0) };
      };
      assert.deepEqual(ours.skipped, []);
      assert.equal(ours.files.length, 251);
      assert.deepEqual(count('train'), { files: 214, tokens: 53_956 });
      assert.deepEqual(count('test'), { files: 37, tokens: 8_888 });
      const { train, test } = reference.stats;
      assert.deepEqual([train.files, train.tokens, test.files, test.tokens], [214, 53_956, 37, 8_888]);
    });

    it('gives the same tokens and split for at least 99.9 % of files', () => {
      assert.equal(Object.keys(reference.files).length, ours.files.length);
      const differing = ours.files.filter((file) => {
        const expected = reference.files[file.relPath];
        return expected === undefined || expected.split !== file.split || expected.hash !== shortHash(`${file.tokens.join('\t')}\n`);
      });
      assert.ok(
        (ours.files.length - differing.length) / ours.files.length >= 0.999,
        `${differing.length} files differ, first ${differing.slice(0, 5).map((f) => f.relPath).join(', ')}`,
      );
    });

    it('writes a dump byte-identical to the reference, with its stats', () => {
      const outDir = freshTempDir('metacomplete-dump-');
      const stats = writeTokenDump(ours.files, outDir);
      assert.deepEqual(stats, { train: { files: 214, tokens: 53_956 }, test: { files: 37, tokens: 8_888 } });
      let written = 0;
      for (const split of ['train', 'test']) written += readTokenFiles(join(outDir, split)).size;
      assert.equal(written, Object.keys(reference.files).length);
      for (const [relPath, expected] of Object.entries(reference.files)) {
        const tokFile = join(outDir, expected.split, `${relPath}.tok`);
        assert.equal(shortHash(readFileSync(tokFile)), expected.hash, `${expected.split}/${relPath}.tok differs`);
      }
      const summary = JSON.parse(readFileSync(join(outDir, 'stats.json'), 'utf8'));
      assert.equal(summary.train.tokens, 53_956);
      assert.equal(summary.test.files, 37);
    });
  });

  it(`reads CRLF and BOM files the way the reference does (reference: ${referenceSource()})`, function () {
    this.timeout(20_000);
    const root = freshTempDir('metacomplete-newlines-');
    writeTree(root, {
      'crlf.js': "let s = 'open\r\nx = a \\\r\n + /re/g;\r\n",
      'cr.py': 'x = "a\rb" # c\ry = 2\r',
      'bom.ts': '\ufeffexport const b = `x\r\ny`;\n',
    });
    const reference = referencePrepare('corpus-newlines', 'n', root, '**/*', []);
    const ours = loadCorpus(root);
    assert.equal(ours.files.length, 3);
    assert.equal(Object.keys(reference.files).length, 3);
    for (const file of ours.files) assert.equal(shortHash(`${file.tokens.join('\t')}\n`), reference.files[file.relPath]?.hash, file.relPath);
  });
});
