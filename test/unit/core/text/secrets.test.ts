import * as assert from 'node:assert/strict';
import { assertLinearTime } from '../../linearTime';
import { tokenize } from '../../../../src/core/text/lexer';
import {
  MAX_SUGGESTION_CHARS,
  characterEntropy,
  findSecretSpans,
  isSecretName,
  isSecretToken,
  isSuggestible,
  redactSecretText,
  redactedPlaceholder,
  secretFreeTokens,
} from '../../../../src/core/text/secrets';
import { ORDINARY_CODE, SECRETS, SECRET_NPMRC, SECRET_TS, filler } from './secretFixtures';

// Built from parts so that this test file does not itself look like it leaks a key to secret scanners.
const githubToken = ['ghp', '_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join('');
const slackToken = ['xoxb', '-', '1234567890-0987654321-AbCdEfGhIjKlMnOp'].join('');
const googleKey = ['AIza', 'SyD3x9Kq7Lm2Np8Rt4Vw6Yz1Bc5Df0Gh-Jk'].join('');
const rsaHeader = ['-----BEGIN', 'RSA PRIVATE KEY-----'].join(' ');
const rsaFooter = ['-----END', 'RSA PRIVATE KEY-----'].join(' ');

const tokensOf = (text: string, kind: 'js' | 'python' = 'js') => secretFreeTokens(text, kind);
const leaks = (tokens: readonly string[], fragment: string) => tokens.some((token) => token.includes(fragment));

describe('secrets', () => {
  describe('secretFreeTokens', () => {
    it('learns a literal given to a secret-named key as the empty literal of its kind, whatever its entropy', () => {
      assert.deepEqual(tokensOf("const password = 'Summer2024!';"), ['const', 'password', '=', "''", ';']);
      assert.deepEqual(tokensOf('password = "correct horse battery staple"', 'python'), ['password', '=', '""']);
      assert.deepEqual(tokensOf("login({ user: 'ann', password: `hunter22` })"), ['login', '(', '{', 'user', ':', "'ann'", ',', 'password', ':', '``', '}', ')']);
      assert.deepEqual(tokensOf("const dbPassword: string = 'Summer2024!';"), ['const', 'dbPassword', ':', 'string', '=', "''", ';']);
      assert.deepEqual(tokensOf('{ "apiKey": "plain-words-key" }'), ['{', '"apiKey"', ':', '""', '}']);
      assert.deepEqual(tokensOf("headers['Authorization'] = 'Basic YWxhZGRpbjpvcGVu'"), ['headers', '[', "'Authorization'", ']', '=', "''"]);
      assert.deepEqual(tokensOf("connect(host='db', passwd=b'letmein1')", 'python'), ['connect', '(', 'host', '=', "'db'", ',', 'passwd', '=', "b''", ')']);
      assert.deepEqual(tokensOf('private static final String CLIENT_SECRET = "abcd1234";'), ['private', 'static', 'final', 'String', 'CLIENT_SECRET', '=', '""', ';']);
    });

    it('drops well-known token shapes wherever they are: literals, comments-free code, other strings', () => {
      for (const secret of SECRETS.slice(2, 6)) {
        for (const text of [`const x = '${secret.value}';`, `x = ${secret.value}`, `f("Bearer ${secret.value}")`]) {
          assert.ok(!leaks(tokensOf(text), secret.fragment), `${secret.name} in ${text}`);
        }
      }
      for (const value of [githubToken, slackToken, googleKey]) assert.ok(!leaks(tokensOf(`send('${value}')`), value.slice(4, 12)), value.slice(0, 4));
    });

    it('blanks a private key block anywhere in the text, also split over concatenated literals', () => {
      const body = 'MIIEpAIBAAKCAQEA7bq9mZkq3Xh8Wv2Lr5Tn0Yc4Jd6Gs1Fa';
      const texts = [
        `const key = \`\n${rsaHeader}\n${body}\n${rsaFooter}\n\`;`,
        `const key = "${rsaHeader}\\n${body}\\n${rsaFooter}";`,
        `const key = '${rsaHeader}\\n' +\n  '${body}\\n' +\n  '${rsaFooter}';`,
        `${filler(70 * 1024)}key = """\n${rsaHeader}\n${body}\n"""\n`,
      ];
      for (const text of texts) {
        const tokens = tokensOf(text, 'python');
        assert.ok(!leaks(tokens, 'MIIEpAIB') && !leaks(tokens, 'PRIVATE'), text.slice(-200));
      }
      assert.deepEqual(tokensOf(texts[2]), ['const', 'key', '=', "'▁\\▁'", '+', "'▁\\▁'", '+', "'▁'", ';']);
    });

    it('blanks unquoted values of secret-named keys on .npmrc, .env and YAML lines, but not code', () => {
      const fragment = SECRETS[6].fragment;
      assert.ok(!leaks(tokensOf(SECRET_NPMRC, 'python'), fragment));
      assert.ok(!leaks(tokensOf(`config = \`\n  password: Summer2024!\n  user: ann\n\``), 'Summer2024'));
      assert.ok(!leaks(tokensOf('export DB_PASSWORD=Summer2024!\nPORT=3000\n', 'python'), 'Summer2024'));
      assert.ok(!leaks(tokensOf('postgres = "postgres://app:Summer2024!@db:5432/app"'), 'Summer2024'));
      for (const code of ['token = next_token(lexer)', 'password = getpass.getpass()', 'self.token = token', 'auth = require("./auth")', 'password = hunter2']) {
        assert.deepEqual(tokensOf(code, 'python'), tokenize(code, 'python'), code);
      }
    });

    it('leaves ordinary code that names tokens, passwords and keys exactly as the lexer reads it', () => {
      assert.deepEqual(tokensOf(ORDINARY_CODE), tokenize(ORDINARY_CODE, 'js'));
      for (const text of [
        "const tokenType = 'identifier';",
        "if (token === 'aaaaaaaaaaaaaaaaaaaaaaaa') return;",
        "const tokenPattern = '[A-Za-z_$][A-Za-z0-9_$]*';",
        "export const AKIA_PREFIX = 'AKIA';",
        "const dashes = '-----BEGIN CERTIFICATE-----';",
        'const FLOW_PASSWORD_REQUIRED_V2 = "FlowExistingAccountPasswordRequiredResultV2";',
        "const token = '(';",
        'const tokens = [];\nfor (const token of tokenize(text)) tokens.push(token);',
        "MAX_SIZE=1024\nLOG_LEVEL=debug\nNAME=metacomplete\n",
        // Found redacted in node_modules before the rules were narrowed: names, ids and tables, no credentials.
        'gl.COMPRESSED_SRGB8_ALPHA8_ASTC_4x4_KHR; NGHTTP2_HTTP_1_1_REQUIRED; type UpcastInt32AndMap = 1;',
        'const locationId = "1db06c96-014e-44e1-ac91-90b2d4b3e984";',
        'export const CLIENT_SECRET = "client_secret";\nexport const ACCESS_TOKEN = "access_token";',
        'enum Kind {\n  AccessToken: 2002,\n}',
        "const hex = '0123456789abcdef';",
        "const tag = 'tag:yaml.org,2002:int';",
      ]) {
        assert.deepEqual(tokensOf(text), tokenize(text, 'js'), text);
      }
    });

    it('gives no token that isSecretToken refuses, so whatever is learned may be saved and suggested', () => {
      const tokens = tokensOf(SECRET_TS);
      assert.deepEqual(tokens.filter(isSecretToken), []);
      assert.ok(tokens.includes('deployKey') && tokens.includes('total1000'), 'the rest of the file is kept');
    });
  });

  describe('redactSecretText', () => {
    it('keeps the length and every line break, so offsets and line numbers do not move', () => {
      for (const text of [SECRET_TS, SECRET_NPMRC, `a\r\nkey = '${rsaHeader}\r\nMIIEpAIBAAKCAQEA7bq9mZkq3Xh8\r\n${rsaFooter}'\r\n`]) {
        const redacted = redactSecretText(text);
        assert.equal(redacted.length, text.length);
        for (let i = 0; i < text.length; i++) if (text[i] === '\n' || text[i] === '\r') assert.equal(redacted[i], text[i]);
        assert.notEqual(redacted, text);
      }
    });

    it('turns a literal that is wholly a secret into an empty literal padded to its length', () => {
      const aws = SECRETS[2].value;
      assert.equal(redactSecretText(`k = '${aws}';`), `k = ''${' '.repeat(aws.length)};`);
    });

    it('names the kind of each secret it finds', () => {
      const kinds = findSecretSpans(`${SECRET_TS}\n${SECRET_NPMRC}\ngh = '${githubToken}'`).map((span) => span.kind);
      for (const kind of ['a private key block', 'an AWS access key id', 'a JSON Web Token', 'a Stripe secret key', 'an npm token', 'a GitHub token', 'a value of a secret-named key']) {
        assert.ok(kinds.includes(kind), kind);
      }
    });

    it('is linear in its input, pathological inputs included (8x the text in well under 20x the time)', function () {
      this.timeout(60_000);
      const pieces = [
        'eyJ', 'eyJabcdefgh.', '-----BEGIN ', `${rsaHeader}\n`, 'password=', "password: '", 'token = `', 'a://b:', 'AKIA',
        'sk_live_', 'x'.repeat(40), '0123456789abcdefABCDEF', 'ghp_', '\n', ' ', '//registry:_authToken=a-1', 'Zq3Xv8Rk1Lm6Tp9Wb2',
      ];
      const build = (count: number) => {
        let text = '';
        for (let i = 0; i < count; i++) text += pieces[(i * 7 + (i >> 3)) % pieces.length];
        return text;
      };
      assert.ok(build(160_000).length > 1_500_000, 'the large text is over 1.5 M characters');
      assertLinearTime('redactSecretText', (scale) => {
        const text = build(20_000 * scale);
        return () => redactSecretText(text);
      }, 20);
    });
  });

  describe('isSecretToken', () => {
    it('flags tokens that hold a key, a token shape or a random-looking literal, and nothing else', () => {
      assert.equal(isSecretToken(`'${SECRETS[2].value}wJalrXUtnFEMI'`), true);
      assert.equal(isSecretToken(`"${githubToken}"`), true);
      assert.equal(isSecretToken(`'aB3$kL9#mN2@pQ5!xR7&'`), true);
      assert.equal(isSecretToken(SECRETS[4].value), true);
      assert.equal(isSecretToken(`\`${rsaHeader}▁MIIEpAIBAAKCAQEA7bq9mZkq3Xh8▁${rsaFooter}\``), true);
      assert.equal(isSecretToken("'application/json'"), false);
      assert.equal(isSecretToken("'Content-Security-Policy'"), false);
      assert.equal(isSecretToken('"hello\u2581world\u2581from\u2581here"'), false);
      assert.equal(isSecretToken('"aaaaaaaaaaaaaaaaaaaa"'), false);
      assert.equal(isSecretToken('zorblaxFrobnicateEverythingNow'), false);
      assert.equal(isSecretToken("'src/core/text/secrets.ts'"), false);
      assert.equal(isSecretToken("'https://example.com:8080/v2/path?q=1'"), false);
      assert.equal(isSecretToken("'^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'"), false);
    });
  });

  describe('isSecretName', () => {
    it('reads the last word of a name, whole words only', () => {
      for (const name of ['password', 'dbPassword', 'DB_PASSWORD', 'passwd', 'pwd', 'clientSecret', 'GITHUB_TOKEN', 'authToken', '_authToken', 'api_key', 'APIKey', 'apiKey', 'x-api-key', 'secretAccessKey', 'PRIVATE_KEY', 'credentials', 'Authorization', 'passwordText']) {
        assert.equal(isSecretName(name), true, name);
      }
      for (const name of ['tokens', 'tokenize', 'tokenType', 'nextTokenIndex', 'passwordField', 'PASSWORD_KEY', 'key', 'keyof', 'monkey', 'secretName', 'bypass', 'authorName', 'x'.repeat(200)]) {
        assert.equal(isSecretName(name), false, name);
      }
    });
  });

  describe('isSuggestible', () => {
    it('refuses secrets, placeholders and tokens over MAX_SUGGESTION_CHARS', () => {
      assert.equal(isSuggestible('settleBalance'), true);
      assert.equal(isSuggestible(`'${'a▁'.repeat(MAX_SUGGESTION_CHARS / 2)}'`), false);
      assert.equal(isSuggestible(`\`${'line▁'.repeat(5000)}\``), false);
      assert.equal(isSuggestible(`'${SECRETS[4].value}'`), false);
      assert.equal(isSuggestible(redactedPlaceholder(3)), false);
    });
  });

  it('measures character entropy in bits', () => {
    assert.equal(characterEntropy('aaaa'), 0);
    assert.equal(characterEntropy('abab'), 1);
    assert.equal(characterEntropy('abcdefgh'), 3);
  });
});
