import * as assert from 'node:assert/strict';
import {
  FileFilter,
  SECRET_SCAN_BYTES,
  characterEntropy,
  contentKey,
  enabledGlobs,
  enginePath,
  gitignoreToGlobs,
  globToRegExp,
  secretContentReason,
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

describe('secretContentReason', () => {
  const reasonFor = (text: string) => secretContentReason(new TextEncoder().encode(text));
  // Built from parts so that this test file does not itself look like it leaks a key to secret scanners.
  const githubToken = ['ghp', '_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('');
  const slackToken = ['xoxb', '-', '1234567890-0987654321-AbCdEfGhIjKlMnOp'].join('');
  const pemHeader = ['-----BEGIN', 'RSA PRIVATE KEY-----'].join(' ');

  it('finds well-known secret formats and names the kind and line, never the value', () => {
    const cases: [string, RegExp][] = [
      [`const key = \`\n${pemHeader}\nMIIEpAIBAAKCAQEA\n\`;`, /private key block .* on line 2/],
      [`${['-----BEGIN', 'OPENSSH PRIVATE KEY-----'].join(' ')}\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=`, /private key block/],
      [`const pem = "${['-----BEGIN', 'PRIVATE KEY-----'].join(' ')}\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";`, /private key block/],
      ["export const awsKeyId = 'AKIAIOSFODNN7EXAMPLE';", /an AWS access key id on line 1/],
      [`fetch(url, { headers: { authorization: 'token ${githubToken}' } });`, /a GitHub token/],
      [`const hook = '${slackToken}';`, /a Slack token/],
    ];
    for (const [text, expected] of cases) {
      const reason = reasonFor(text) ?? '';
      assert.match(reason, expected, text);
      assert.ok(!reason.includes('AKIAIOSFODNN7EXAMPLE') && !reason.includes(githubToken), `the reason leaks the value: ${reason}`);
    }
  });

  it('finds a high-entropy literal given to a secret-named variable, whatever the language', () => {
    const value = 'q8Zr3Kp0Vx7LmN2sTb9WcY4h';
    for (const text of [
      `api_key = "${value}"`,
      `const stripeApiKey = '${value}';`,
      `const clientSecret: string = "${value}";`,
      `{ "apiKey": "${value}" }`,
      `private static final String DB_PASSWORD = "${value}";`,
    ]) {
      assert.match(reasonFor(text) ?? '', /a high-entropy value assigned to \w+ on line 1/, text);
    }
  });

  it('leaves ordinary code alone: low-entropy or spaced literals, token-named code, comparisons', () => {
    for (const text of [
      "const apiKey = process.env.API_KEY;",
      "const tokenType = 'identifier';",
      "const password = 'changeme';",
      "const secretMessage = 'this is not a secret at all';",
      "if (token === 'aaaaaaaaaaaaaaaaaaaaaaaa') return;",
      "const tokenPattern = '[A-Za-z_$][A-Za-z0-9_$]*';",
      "export const AKIA_PREFIX = 'AKIA';",
      "const dashes = '-----BEGIN CERTIFICATE-----';",
      `// Pass the PEM key (${['-----BEGIN', 'PRIVATE KEY-----'].join(' ')} ... -----END PRIVATE KEY-----).`,
      'export const SIGNIN_TOKEN = "/oauth2/v2.0/token";',
      'const FLOW_PASSWORD_REQUIRED_V2 = "FlowExistingAccountPasswordRequiredResultV2";',
      "const SHA256_TOKEN_TO_REFRESH = 'token_sha256_to_refresh';",
      "MAX_SIZE=1024\nLOG_LEVEL=debug\nNAME=metacomplete\n",
    ]) {
      assert.equal(reasonFor(text), undefined, text);
    }
  });

  it('finds .env-style files with a high-entropy value, and not a constants module or one stray line', () => {
    const env = '# local settings\nexport NODE_ENV=development\nPORT=3000\nSTRIPE_LIVE=sk9Vq2Lx7Rt4Wm8Np3Zb6Hc1\n';
    assert.match(reasonFor(env) ?? '', /a \.env-style file with a high-entropy value for STRIPE_LIVE on line 4/);
    const quoted = 'DATABASE_URL="postgres://localhost/db"\nSESSION="Zq3Xv8Rk1Lm6Tp9Wb2Nc5Hd7"\n';
    assert.match(reasonFor(quoted) ?? '', /SESSION on line 2/);
    const module = 'import os\n\nCHECKSUM=Zq3Xv8Rk1Lm6Tp9Wb2Nc5Hd7\n\ndef main():\n    print(os.getcwd())\n    return 0\n';
    assert.equal(reasonFor(module), undefined);
  });

  it('scans only the first SECRET_SCAN_BYTES of a file', () => {
    const padding = `${'// filler line of an ordinary source file\n'.repeat(Math.ceil(SECRET_SCAN_BYTES / 40))}`;
    assert.equal(reasonFor(`${padding}const awsKeyId = 'AKIAIOSFODNN7EXAMPLE';\n`), undefined);
    assert.match(reasonFor(`const awsKeyId = 'AKIAIOSFODNN7EXAMPLE';\n${padding}`) ?? '', /AWS access key id/);
  });

  it('measures character entropy in bits', () => {
    assert.equal(characterEntropy('aaaa'), 0);
    assert.equal(characterEntropy('abab'), 1);
    assert.equal(characterEntropy('abcdefgh'), 3);
  });
});
