// Fuzz target: the secret policy (src/core/text/secrets.ts) on texts made of
// code pieces, secrets, quotes, line breaks and random characters.
import * as assert from 'node:assert/strict';
import { redactSecretText, isSecretToken, secretFreeTokens } from '../../../src/core/text/secrets';
import { SECRETS } from '../core/text/secretFixtures';
import { FuzzRandom, fuzzRuns } from './fuzzRuns';

const PIECES = [
  'password', 'token', 'apiKey', '_authToken', 'secret', 'tokens', 'const ', 'let ', ' = ', ': ', '=', ':', "'", '"', '`', '${', '}',
  '\n', '\r\n', '\r', ' ', '\t', '\\', '\\n', '(', ')', '[', ']', ';', ',', '.', '//', '/*', '*/', '#', 'export ', '+',
  '-----BEGIN ', '-----BEGIN RSA PRIVATE KEY-----', '-----END RSA PRIVATE KEY-----', 'MIIEpAIBAAKCAQEA7bq9', 'eyJ', '.eyJ',
  'AKIA', 'sk_live_', 'npm_', 'ghp_', 'xoxb-', 'AIza', 'https://', '@', 'Zq3Xv8Rk1Lm6Tp9Wb2Nc', '0123456789abcdef', 'x', 'Summer2024!',
];
/** Characters around a planted secret: none joins a token shape's run, so the secret must be found. */
const SEPARATORS = [' ', '\n', "'", '"', '(', ';', ',', '`'];

function randomText(random: FuzzRandom): string {
  let text = '';
  const pieces = 1 + random.nextInt(40);
  for (let i = 0; i < pieces; i++) {
    if (random.chance(0.1)) text += String.fromCharCode(random.nextInt(0x3000));
    else text += random.pick(PIECES);
  }
  return text;
}

describe('fuzz: secrets', () => {
  it('redaction keeps the length and every line break, is deterministic, and never throws', () => {
    const random = new FuzzRandom('secrets-redact');
    const runs = fuzzRuns(3000);
    for (let run = 0; run < runs; run++) {
      const text = randomText(random);
      const redacted = redactSecretText(text);
      const context = JSON.stringify(text);
      assert.equal(redacted.length, text.length, context);
      for (let i = 0; i < text.length; i++) {
        const breaks = text[i] === '\n' || text[i] === '\r';
        assert.equal(redacted[i] === '\n' || redacted[i] === '\r', breaks, `${context} at ${i}`);
      }
      assert.equal(redactSecretText(text), redacted, context);
    }
  });

  it('a planted secret never survives, and no kept token is one isSecretToken refuses', () => {
    const random = new FuzzRandom('secrets-plant');
    const runs = fuzzRuns(2000);
    const planted = SECRETS.slice(2, 6);
    for (let run = 0; run < runs; run++) {
      const secret = random.pick(planted);
      const text = `${randomText(random)}${random.pick(SEPARATORS)}${secret.value}${random.pick(SEPARATORS)}${randomText(random)}`;
      for (const kind of ['js', 'python'] as const) {
        const tokens = secretFreeTokens(text, kind);
        assert.ok(!tokens.some((token) => token.includes(secret.fragment)), `${secret.name} survives in ${JSON.stringify(text)}`);
        assert.deepEqual(tokens.filter(isSecretToken), [], JSON.stringify(text));
      }
    }
  });
});
