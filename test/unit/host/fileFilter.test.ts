import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FileFilter,
  WorkspaceBoundary,
  contentKey,
  enabledGlobs,
  enginePath,
  gitignoreToGlobs,
  globToRegExp,
} from '../../../src/host/fileFilter';

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

  it('matches a folder given with a trailing slash, so the indexer never enters excluded folders', () => {
    const ignoring = filter({ gitignore: gitignoreToGlobs('src/generated/\ncoverage\n'), workbenchExclude: ['**/.git'] });
    assert.match(ignoring.exclusionReason('node_modules/') ?? '', /dependency or build output/);
    assert.match(ignoring.exclusionReason('packages/a/node_modules/') ?? '', /dependency or build output/);
    assert.match(ignoring.exclusionReason('.git/') ?? '', /build output|files.exclude/);
    assert.match(ignoring.exclusionReason('src/generated/') ?? '', /\.gitignore \(\/src\/generated\)/);
    assert.match(ignoring.exclusionReason('lib/coverage/') ?? '', /\.gitignore/);
    assert.equal(ignoring.exclusionReason('src/'), undefined);
    assert.equal(ignoring.exclusionReason('src/generators/'), undefined);
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

describe('WorkspaceBoundary', () => {
  let base: string;

  before(() => {
    base = mkdtempSync(join(tmpdir(), 'metacomplete-links-'));
    mkdirSync(join(base, 'workspace', 'src'), { recursive: true });
    mkdirSync(join(base, 'home'));
    writeFileSync(join(base, 'home', '.npmrc'), '//registry.npmjs.org/:_authToken=0f2a9c71-5b3e-4d8a-9e6f-1c2b3a4d5e6f\n');
    writeFileSync(join(base, 'workspace', 'src', 'real.ts'), 'export const a = 1;\n');
    symlinkSync(join(base, 'home', '.npmrc'), join(base, 'workspace', 'src', 'npmrc.ts'));
    symlinkSync(join(base, 'workspace', 'src', 'real.ts'), join(base, 'workspace', 'src', 'alias.ts'));
    symlinkSync(join(base, 'home'), join(base, 'workspace', 'home-link'));
    symlinkSync(join(base, 'workspace'), join(base, 'workspace-link'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  it('refuses a linked file or a file under a linked folder whose real path leaves every workspace folder', async () => {
    const boundary = new WorkspaceBoundary([join(base, 'workspace')]);
    assert.match((await boundary.escapeReason(join(base, 'workspace', 'src', 'npmrc.ts'))) ?? '', /symbolic link .* outside the workspace folders, not followed/);
    assert.match((await boundary.escapeReason(join(base, 'workspace', 'home-link', '.npmrc'))) ?? '', /outside the workspace/);
  });

  it('reads plain files and links that stay inside, also in a workspace opened through a link', async () => {
    for (const root of [join(base, 'workspace'), join(base, 'workspace-link')]) {
      const boundary = new WorkspaceBoundary([root]);
      assert.equal(await boundary.escapeReason(join(root, 'src', 'real.ts')), undefined, root);
      assert.equal(await boundary.escapeReason(join(root, 'src', 'alias.ts')), undefined, root);
    }
    const two = new WorkspaceBoundary([join(base, 'workspace'), join(base, 'home')]);
    assert.equal(await two.escapeReason(join(base, 'workspace', 'src', 'npmrc.ts')), undefined, 'a link into another workspace folder stays inside');
    assert.equal(await two.escapeReason(join(base, 'workspace', 'src', 'missing.ts')), undefined, 'the read reports a missing file');
  });
});
