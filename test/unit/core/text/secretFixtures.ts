// The secrets of issue #12, as files a workspace or a corpus might hold them.
// Built from parts so that this file does not itself look like a leaked key to secret scanners.

const join = (...parts: string[]) => parts.join('');

/** Each secret, and a fragment of it that no ordinary token of the fixtures contains. */
export const SECRETS: readonly { name: string; value: string; fragment: string }[] = [
  { name: "'Summer2024!' assigned to password", value: 'Summer2024!', fragment: 'Summer2024' },
  { name: "'correct horse battery staple' after password =", value: 'correct horse battery staple', fragment: 'horse' },
  { name: 'an AWS access key id', value: join('AKIA', 'Q3ZL7WV2XN4RT8PM'), fragment: 'Q3ZL7WV2' },
  {
    name: 'a JWT',
    value: join('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9', '.', 'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0', '.', 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'),
    fragment: 'SflKxwRJ',
  },
  { name: 'a Stripe live key', value: join('sk_', 'live_', '4eC39HqLyjWDarjtT1zdp7dc'), fragment: '4eC39HqL' },
  { name: 'an npm token', value: join('npm_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'), fragment: 'a1B2c3D4' },
  { name: 'an unquoted .npmrc _authToken', value: '0f2a9c71-5b3e-4d8a-9e6f-1c2b3a4d5e6f', fragment: '9e6f' },
  { name: 'an OpenSSH private key after the first 64 KB', value: 'QyNTUxOQAAACDx8Y9iZ2W1dQ3xHn5t7q0V8KfYbJm0o4cA6s2mXr9ZPQAAAJj3kLhF95C4', fragment: 'QyNTUxOQ' },
];

const value = (name: string) => SECRETS.find((secret) => secret.name.startsWith(name))?.value ?? '';

/** Ordinary code, enough lines to push what follows past the first 64 KB of the file. */
export function filler(bytes: number): string {
  let text = '';
  for (let i = 0; text.length < bytes; i++) text += `export const total${i} = ledger.sum(rows, ${i});\n`;
  return text;
}

const opensshKey = [
  join('-----BEGIN', ' OPENSSH PRIVATE KEY-----'),
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  value('an OpenSSH'),
  'AAAAC3NzaC1lZDI1NTE5AAAAIPHxj2JnZbV1DfEefm3qjRXwp9hsmbSjhwDqzaZev1k9AAAA',
  join('-----END', ' OPENSSH PRIVATE KEY-----'),
].join('\n');

/** A TypeScript file with every quoted secret of the issue, the key after 64 KB. */
export const SECRET_TS = [
  `export const login = { user: 'admin', password: '${value("'Summer2024!'")}' };`,
  `let password = '${value("'correct horse")}';`,
  `const awsAccessKeyId = '${value('an AWS')}';`,
  `const session = "${value('a JWT')}";`,
  `const stripe = new Stripe('${value('a Stripe')}');`,
  `headers.set('Authorization', 'Bearer ${value('an npm')}');`,
  filler(70 * 1024),
  `export const deployKey = \`${opensshKey}\`;`,
  '',
].join('\n');

/** An .npmrc's lines, as a linked file read under a source file's name would give them. */
export const SECRET_NPMRC = ['registry=https://registry.npmjs.org/', `//registry.npmjs.org/:_authToken=${value('an unquoted')}`, 'always-auth=true', ''].join('\n');

/** Ordinary code that names tokens, passwords and keys without holding any secret: none of it may change. */
export const ORDINARY_CODE = [
  'const token = lexer.next();',
  'interface Login { user: string; password: string; passwordField?: HTMLInputElement }',
  'const secret = getSecret();',
  'type Keys = keyof T;',
  "if (token === ')' || token === ';') tokens.push(token);",
  'const tokens = tokenize(text);',
  "const tokenType = 'identifier';",
  "fetch(url, { credentials: 'include' });",
  "const apiKey = process.env.API_KEY;",
  "const inputType = 'password';",
  "export const PASSWORD_KEY = 'pwd';",
  "const sha = 'token_sha256_to_refresh';",
  "const url = 'https://example.com:8080/path?q=1';",
  '',
].join('\n');
