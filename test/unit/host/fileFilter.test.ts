import * as assert from 'node:assert/strict';
import { FileFilter, contentKey, enabledGlobs, enginePath, gitignoreToGlobs, globToRegExp } from '../../../src/host/fileFilter';

const filter = (options: Partial<ConstructorParameters<typeof FileFilter>[0]> = {}) =>
  new FileFilter({ include: ['**/*.{ts,py}'], exclude: [], workbenchExclude: [], gitignore: [], ...options });

describe('fileFilter', () => {
  it('matches VS Code globs on relative paths', () => {
    assert.ok(globToRegExp('**/*.{ts,py}').test('src/a.ts'));
    assert.ok(globToRegExp('**/*.{ts,py}').test('a.py'));
    assert.ok(!globToRegExp('**/*.{ts,py}').test('src/a.tsx'));
    assert.ok(globToRegExp('**/node_modules').test('packages/x/node_modules/y/index.js'));
    assert.ok(globToRegExp('src/*.ts').test('src/a.ts'));
    assert.ok(!globToRegExp('src/*.ts').test('src/deep/a.ts'));
    assert.ok(globToRegExp('*.min.js').test('vendor/jquery.min.js'));
    assert.ok(globToRegExp('file[0-9].ts').test('file3.ts'));
  });

  it('never indexes files that may hold secrets', () => {
    for (const path of ['.env', 'config/.env.local', 'certs/server.pem', 'a.key', 'home/id_rsa', 'awsCredentials.ts']) {
      assert.match(filter().exclusionReason(path) ?? '', /may hold secrets/, path);
    }
    assert.equal(filter().exclusionReason('src/environment.ts'), undefined);
  });

  it('leaves out dependencies, build output and excluded globs, saying which rule', () => {
    assert.match(filter().exclusionReason('node_modules/x/a.ts') ?? '', /dependency or build output/);
    assert.match(filter().exclusionReason('packages/app/dist/a.ts') ?? '', /build output/);
    assert.match(filter({ exclude: ['**/generated/**'] }).exclusionReason('src/generated/a.ts') ?? '', /metacomplete.exclude/);
    assert.match(filter({ workbenchExclude: ['**/.vscode-test'] }).exclusionReason('.vscode-test/x/a.ts') ?? '', /files.exclude/);
    assert.ok(filter().isIncluded('src/a.ts'));
    assert.ok(!filter().isIncluded('src/a.md'));
  });

  it('reads the simple patterns of a .gitignore', () => {
    const globs = gitignoreToGlobs('# build\ncoverage/\n/tmp\n*.log\n!keep.log\ndocs/api/\n\n');
    assert.deepEqual(globs, ['coverage', '/tmp', '*.log', '/docs/api']);
    const ignoring = filter({ gitignore: globs });
    assert.match(ignoring.exclusionReason('coverage/lcov/report.ts') ?? '', /\.gitignore/);
    assert.match(ignoring.exclusionReason('packages/a/coverage/x.ts') ?? '', /\.gitignore/);
    assert.match(ignoring.exclusionReason('tmp/a.ts') ?? '', /\.gitignore/);
    assert.equal(ignoring.exclusionReason('src/tmp/a.ts'), undefined);
    assert.equal(ignoring.exclusionReason('src/docs/api/a.ts'), undefined);
  });

  it('takes the globs switched on in files.exclude', () => {
    assert.deepEqual(enabledGlobs({ '**/.git': true, '**/*.js': { when: '$(basename).ts' }, '**/off': false }), ['**/.git']);
    assert.deepEqual(enabledGlobs(undefined), []);
  });

  it('prefixes the folder name only in multi-root workspaces', () => {
    assert.equal(enginePath('api', 'src/a.ts', 1), 'src/a.ts');
    assert.equal(enginePath('api', 'src/a.ts', 2), 'api/src/a.ts');
  });
});

describe('contentKey', () => {
  it('is the same for the same bytes and differs after an edit', () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    assert.equal(contentKey(encode('const a = 1;')), contentKey(encode('const a = 1;')));
    assert.notEqual(contentKey(encode('const a = 1;')), contentKey(encode('const a = 2;')));
  });
});
