// The one secret policy of MetaComplete: what is never learned, saved,
// suggested or written to a checkpoint. Every path that turns text into
// tokens goes through `secretFreeTokens`; every token that leaves the engine
// (a suggestion, a checkpoint's classes, a saved vocabulary) passes
// `isSecretToken`. Secrets are redacted rather than their files skipped, so
// one password in a test fixture costs that literal, not the whole file.
import { isWordToken, tokenize } from './lexer';
import type { LanguageKind } from './lexer';

/** A token longer than this is never offered: no one wants a 24 KB template literal as a completion. */
export const MAX_SUGGESTION_CHARS = 200;

/** Values at least this long and more random than this (bits per character) look generated, like keys. */
const MIN_SECRET_VALUE_LENGTH = 16;
const MIN_SECRET_ENTROPY_BITS = 3.5;
/**
 * A run outside any literal or name context counts from this length: code
 * has identifiers such as `UpcastInt32AndMap` (17) that look random; keys
 * of 16-19 characters are still found in a literal or given to a secret-named key.
 */
const MIN_UNQUOTED_SECRET_LENGTH = 20;
/** Identifiers and paths are mostly words; values with at least this share of word characters are not keys. */
const MAX_SECRET_WORD_SHARE = 0.4;
/**
 * A value given to a secret-named key counts as a secret from this length:
 * shorter ones are a lexer's `token = '('`, not a credential.
 */
const MIN_ASSIGNED_SECRET_CHARS = 4;
/** Names longer than this are not names a person gave a variable; they are not read for secret words. */
const MAX_NAME_CHARS = 100;
/** A private key block longer than this between BEGIN and END is taken as ending where its base64 ends. */
const MAX_KEY_BLOCK_CHARS = 64 * 1024;
/** A random-looking literal is at least this share letters and digits; regular expressions' sources are less. */
const MIN_RANDOM_LITERAL_ALPHANUMERIC_SHARE = 0.7;
/** No token shape is shorter than this, so shorter tokens are checked in constant time. */
const MIN_SHAPED_SECRET_CHARS = 15;

/** A part of a text that holds a secret, and what kind (for tests and logs; never the value). */
export interface SecretSpan {
  start: number;
  end: number;
  kind: string;
}

/**
 * Token formats that are secrets wherever they appear, with the fixed
 * prefixes a run must hold for the pattern to be worth running. Each
 * pattern starts with its prefix after a non-word character and ends with
 * one greedy run, so a scan is linear in the run.
 */
const TOKEN_SHAPES: readonly { kind: string; prefixes: readonly string[]; pattern: RegExp }[] = [
  { kind: 'an AWS access key id', prefixes: ['AKIA', 'ASIA'], pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Za-z])/g },
  { kind: 'a GitHub token', prefixes: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'], pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}/g },
  { kind: 'a GitHub fine-grained token', prefixes: ['github_pat_'], pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{40,}/g },
  { kind: 'a Slack token', prefixes: ['xox'], pattern: /(?<![A-Za-z0-9_])xox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: 'a Stripe secret key', prefixes: ['k_live_', 'k_test_'], pattern: /(?<![A-Za-z0-9_])[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/g },
  { kind: 'an npm token', prefixes: ['npm_'], pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36,}/g },
  { kind: 'a Google API key', prefixes: ['AIza'], pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}/g },
];
/** A JSON Web Token: base64url header and payload, both JSON objects (`eyJ` is `{"`), and a signature. */
const JSON_WEB_TOKEN = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/** `-----BEGIN RSA PRIVATE KEY-----`, `-----BEGIN OPENSSH PRIVATE KEY-----`, `-----BEGIN PGP PRIVATE KEY BLOCK-----`. */
const KEY_BLOCK_HEADER = /-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----/y;

const KEY_BLOCK = 'a private key block';

/** Whole name parts (camelCase, snake_case, kebab-case split) that name a secret. */
const SECRET_WORDS: ReadonlySet<string> = new Set([
  'password', 'passwd', 'pwd', 'passphrase', 'secret', 'token', 'credential', 'credentials', 'auth', 'authorization',
  'bearer', 'apikey', 'accesskey', 'privatekey', 'secretkey', 'authtoken', 'accesstoken', 'refreshtoken', 'clientsecret',
]);
/** `key` names a secret only after one of these: `apiKey`, `ACCESS_KEY`, `private-key`, `secretKey`. */
const KEY_QUALIFIERS: ReadonlySet<string> = new Set(['api', 'access', 'private', 'secret', 'auth', 'signing', 'encryption', 'master', 'client']);
/** Trailing parts that name a form of the value rather than something else: `passwordText`, `tokenB64` are still secrets. */
const VALUE_SUFFIXES: ReadonlySet<string> = new Set(['value', 'val', 'str', 'string', 'text', 'raw', 'plain', 'plaintext', 'pem', 'b64', 'base64', 'hex']);
/** Values of secret-sounding keys that are standard words, not secrets: the Fetch API's `credentials` modes. */
const STANDARD_VALUES: ReadonlySet<string> = new Set(['include', 'same-origin', 'omit']);

/** The lower-case words of a name: `dbPassword` → db, password; `API_KEY` → api, key; `APIKey` → api, key. */
function nameParts(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((part) => part !== '');
}

/**
 * True for a name whose last word names a secret (`password`, `dbPassword`,
 * `GITHUB_TOKEN`, `api_key`, `clientSecret`), and not for names where such a
 * word only qualifies another (`passwordField`, `tokenType`, `tokens`,
 * `tokenize`, `PASSWORD_KEY`).
 */
export function isSecretName(name: string): boolean {
  if (name.length > MAX_NAME_CHARS) return false;
  const parts = nameParts(name);
  while (parts.length > 1 && VALUE_SUFFIXES.has(parts[parts.length - 1])) parts.pop();
  const last = parts[parts.length - 1];
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last)) return true;
  return last === 'key' && parts.length > 1 && KEY_QUALIFIERS.has(parts[parts.length - 2]);
}

/**
 * Whether a value given to a secret-named key is taken as a secret: anything
 * but short, punctuation-only or standard values, and names of secrets
 * (`CLIENT_SECRET = "client_secret"`, `header: 'Authorization'`): a
 * protocol's parameter names are code, not credentials.
 */
function mayBeAssignedSecret(value: string): boolean {
  if (value.length < MIN_ASSIGNED_SECRET_CHARS || !/[A-Za-z0-9]/.test(value) || STANDARD_VALUES.has(value)) return false;
  return !(/^[A-Za-z][A-Za-z0-9_-]*$/.test(value) && isSecretName(value));
}

/** Shannon entropy of the characters of `text`, in bits per character. */
export function characterEntropy(text: string): number {
  const counts = new Map<string, number>();
  let length = 0;
  for (const char of text) {
    counts.set(char, (counts.get(char) ?? 0) + 1);
    length++;
  }
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/**
 * The share of `value`'s characters in words: `Word` or `word` of four
 * letters or more with a vowel, or an upper-case word between non-letters
 * as in SCREAMING_SNAKE_CASE (`NGHTTP2_HTTP_1_1_REQUIRED`, `RGBA16_SNORM_EXT`).
 * Random strings rarely reach 40 %: 2-7 % of random base64 of 16-40 characters do.
 */
function wordShare(value: string): number {
  let inWords = 0;
  for (const [word] of value.matchAll(/[A-Z][a-z]{3,}|[a-z]{4,}|(?<![A-Za-z])[A-Z]{3,}(?![A-Za-z])/g)) {
    if (/^[A-Z]+$/.test(word) || /[aeiouy]/i.test(word)) inWords += word.length;
  }
  return inWords / value.length;
}

/**
 * A UUID names a resource (a REST route, an extension, a test fixture)
 * far more often than it is a credential; one given to a secret-named key
 * is still redacted.
 */
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** An alphabet written out (`0123456789abcdef`, `ABC…xyz`): at least half its neighbours are consecutive characters. */
function isAlphabet(value: string): boolean {
  let consecutive = 0;
  for (let i = 1; i < value.length; i++) if (value.charCodeAt(i) === value.charCodeAt(i - 1) + 1) consecutive++;
  return consecutive >= (value.length - 1) / 2;
}

/**
 * A credential-shaped value: long, no whitespace, letters mixed with digits,
 * random-looking (entropy), and not made of words, as `FlowResultV2` or
 * `token_sha256_to_refresh` are though their entropy is high.
 */
function isHighEntropyValue(value: string): boolean {
  return (
    value.length >= MIN_SECRET_VALUE_LENGTH &&
    !/[\s\u2581]/.test(value) &&
    /[0-9]/.test(value) &&
    /[A-Za-z]/.test(value) &&
    characterEntropy(value) > MIN_SECRET_ENTROPY_BITS &&
    wordShare(value) < MAX_SECRET_WORD_SHARE &&
    !isAlphabet(value) &&
    !UUID.test(value)
  );
}

/**
 * Characters of base64, base64url and hex runs: the alphabet of generated
 * keys. Not `=`, so that `key=value` is two runs; base64's trailing `==`
 * says nothing about a key.
 */
function isKeyRunChar(c: number): boolean {
  return c < 128 && KEY_RUN_CHARS[c] === 1;
}

const KEY_RUN_CHARS = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') KEY_RUN_CHARS[char.charCodeAt(0)] = 1;

/** Where a URL's authority ends: whitespace, a quote or a path. */
function endsAuthority(c: number): boolean {
  return c === 0x2f || c === 0x22 || c === 0x27 || c === 0x60 || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The password of each `scheme://user:password@host`. */
function urlPasswordSpans(text: string, spans: SecretSpan[]): void {
  let at = text.indexOf('://');
  while (at >= 0) {
    const authority = at + 3;
    let end = authority;
    let colon = -1;
    let atSign = -1;
    for (; end < text.length; end++) {
      const c = text.charCodeAt(end);
      if (endsAuthority(c)) break;
      if (c === 0x3a && colon < 0) colon = end;
      else if (c === 0x40) atSign = end;
    }
    if (at > 0 && /[A-Za-z0-9]/.test(text.charAt(at - 1)) && colon >= 0 && colon + 1 < atSign) {
      spans.push({ start: colon + 1, end: atSign, kind: 'a password in a URL' });
    }
    // The next search starts after this authority, so no character is read twice.
    at = text.indexOf('://', end);
  }
}

/** Private key blocks, from BEGIN to the matching END (or, without one, to the end of the base64 after the header). */
function keyBlockSpans(text: string, spans: SecretSpan[]): void {
  // Where each label's next END is (-1: none left), so no stretch of text is searched twice for it.
  const nextEnds = new Map<string, number>();
  let from = 0;
  for (;;) {
    const begin = text.indexOf('-----BEGIN ', from);
    if (begin < 0) return;
    KEY_BLOCK_HEADER.lastIndex = begin;
    const header = KEY_BLOCK_HEADER.exec(text);
    if (header === null) {
      from = begin + 11;
      continue;
    }
    const bodyStart = begin + header[0].length;
    const endMarker = `-----END ${header[1]}-----`;
    const known = nextEnds.get(header[1]);
    const end = known === undefined || (known >= 0 && known < bodyStart) ? text.indexOf(endMarker, bodyStart) : known;
    nextEnds.set(header[1], end);
    let blockEnd: number;
    if (end >= 0 && end - bodyStart <= MAX_KEY_BLOCK_CHARS) blockEnd = end + endMarker.length;
    else {
      blockEnd = bodyStart;
      while (blockEnd < text.length) {
        const c = text.charCodeAt(blockEnd);
        if (isKeyRunChar(c) || c === 0x3d || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) blockEnd++;
        else if (c === 0x5c && /[nr]/.test(text.charAt(blockEnd + 1))) blockEnd += 2;
        else break;
      }
    }
    spans.push({ start: begin, end: blockEnd, kind: KEY_BLOCK });
    from = blockEnd;
  }
}

/** Maximal base64/hex-alphabet runs that look generated. */
/**
 * Token shapes and high-entropy values within maximal runs of the key
 * alphabet. Every shape but the JWT's (whose parts are joined by dots) lies
 * inside one run and starts and ends at non-word characters, so only the
 * few long runs of a text are matched against the shapes.
 */
function keyRunSpans(text: string, spans: SecretSpan[]): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    if (!isKeyRunChar(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && isKeyRunChar(text.charCodeAt(i))) i++;
    if (i - start < MIN_SHAPED_SECRET_CHARS) continue;
    const run = text.slice(start, i);
    for (const { kind, prefixes, pattern } of TOKEN_SHAPES) {
      if (!prefixes.some((prefix) => run.includes(prefix))) continue;
      for (const match of run.matchAll(pattern)) spans.push({ start: start + match.index, end: start + match.index + match[0].length, kind });
    }
    if (run.length >= MIN_UNQUOTED_SECRET_LENGTH && isHighEntropyValue(run)) spans.push({ start, end: i, kind: 'a high-entropy value' });
  }
}

function isKeyChar(c: number): boolean {
  return isKeyRunChar(c) || c === 0x24 || c === 0x2e || c === 0x3a || c === 0x40;
}

/**
 * Whether an unquoted value reads as code rather than data: a name or a
 * member chain (`nextToken`, `process.env.TOKEN`), a call, an index or a
 * number (`AccessToken: 2002` in an enum). A name that looks generated
 * (`abc123def456ghi7`) is data.
 */
function isCodeLike(value: string): boolean {
  if (/[()[\]{}]/.test(value) || /^-?[0-9]+(?:\.[0-9]+)?$/.test(value)) return true;
  if (!/^[A-Za-z_$][\w$.?]*$/.test(value)) return false;
  return !(value.length >= 8 && /[0-9]/.test(value) && wordShare(value) < MAX_SECRET_WORD_SHARE);
}

/**
 * Values of `key = value` and `key: value` lines whose key names a secret,
 * as in .env, .npmrc, ini and YAML text (also inside a template literal or a
 * Python docstring): a quoted value's body, or an unquoted value that does
 * not read as code (`password = getPassword()` is code, `_authToken=abc-123` is not).
 */
function assignmentLineSpans(text: string, spans: SecretSpan[]): void {
  const n = text.length;
  let lineStart = 0;
  while (lineStart < n) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = n;
    const span = lineSecret(text, lineStart, lineEnd);
    if (span !== undefined) spans.push(span);
    lineStart = lineEnd + 1;
  }
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function lineSecret(text: string, lineStart: number, lineEnd: number): SecretSpan | undefined {
  let i = lineStart;
  while (i < lineEnd && isBlank(text.charCodeAt(i))) i++;
  if (text.startsWith('export', i) && isBlank(text.charCodeAt(i + 6))) {
    i += 6;
    while (i < lineEnd && isBlank(text.charCodeAt(i))) i++;
  }
  const keyQuote = text.charAt(i) === '"' || text.charAt(i) === "'" ? text.charAt(i) : '';
  if (keyQuote !== '') i++;
  const keyStart = i;
  while (i < lineEnd && isKeyChar(text.charCodeAt(i))) i++;
  let keyEnd = i;
  if (keyEnd === keyStart) return undefined;
  if (keyQuote !== '') {
    if (text.charAt(i) !== keyQuote) return undefined;
    i++;
  }
  let valueStart: number;
  if (keyQuote === '' && text.charCodeAt(keyEnd - 1) === 0x3a && isBlank(text.charCodeAt(keyEnd))) {
    // YAML's `password: x`: the colon ran into the key.
    keyEnd--;
    valueStart = i;
  } else {
    while (i < lineEnd && isBlank(text.charCodeAt(i))) i++;
    const op = text.charAt(i);
    const next = text.charAt(i + 1);
    if (!((op === '=' && next !== '=' && next !== '>') || (op === ':' && next !== ':' && next !== '='))) return undefined;
    valueStart = i + 1;
  }
  // The name is the key's last word run: `//registry.npmjs.org/:_authToken` names `_authToken`.
  let nameStart = keyEnd;
  while (nameStart > keyStart && /[A-Za-z0-9_$-]/.test(text.charAt(nameStart - 1))) nameStart--;
  if (!isSecretName(text.slice(nameStart, keyEnd))) return undefined;
  while (valueStart < lineEnd && isBlank(text.charCodeAt(valueStart))) valueStart++;
  let valueEnd = lineEnd;
  while (valueEnd > valueStart && /[\s,;]/.test(text.charAt(valueEnd - 1))) valueEnd--;
  const value = text.slice(valueStart, valueEnd);
  const quote = value.charAt(0);
  if ((quote === '"' || quote === "'" || quote === '`') && value.length >= 2 && value.endsWith(quote)) {
    const body = value.slice(1, -1);
    if (body.includes('${') || !mayBeAssignedSecret(body)) return undefined;
    return { start: valueStart + 1, end: valueEnd - 1, kind: 'a value of a secret-named key' };
  }
  if (/\s/.test(value) || isCodeLike(value) || !mayBeAssignedSecret(value)) return undefined;
  return { start: valueStart, end: valueEnd, kind: 'a value of a secret-named key' };
}

/**
 * Every secret found in `text`, in no particular order (spans may overlap):
 * private key blocks, well-known token shapes, passwords in URLs,
 * high-entropy runs, and values of secret-named keys on `key = value`
 * lines. Linear in the text's length: each scan moves forward only.
 */
export function findSecretSpans(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  keyBlockSpans(text, spans);
  if (text.includes('eyJ')) {
    for (const match of text.matchAll(JSON_WEB_TOKEN)) spans.push({ start: match.index, end: match.index + match[0].length, kind: 'a JSON Web Token' });
  }
  keyRunSpans(text, spans);
  urlPasswordSpans(text, spans);
  assignmentLineSpans(text, spans);
  return spans;
}

/**
 * `text` with every secret span blanked by spaces. Line breaks stay, so
 * offsets and line numbers are unchanged; so do quotes, backslashes and `+`
 * inside a key block, so that a key split over concatenated literals leaves
 * the literals whole. What remains lexes into the same code with the
 * secrets' characters gone.
 */
export function redactSecretText(text: string): string {
  const spans = findSecretSpans(text);
  if (spans.length === 0) return text;
  spans.sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  let copied = 0;
  for (const span of spans) {
    const start = Math.max(span.start, copied);
    if (span.end <= start) continue;
    parts.push(text.slice(copied, start));
    const secret = text.slice(start, span.end);
    const quote = text.charAt(start - 1);
    copied = span.end;
    if (span.kind === KEY_BLOCK) parts.push(secret.replace(/[^\n\r'"`\\+]+/g, blank));
    else if (start === span.start && (quote === "'" || quote === '"' || quote === '`') && text.charAt(span.end) === quote && !/[\n\r]/.test(secret)) {
      // A whole literal's body: the literal becomes an empty one, padded to its length.
      parts.push(quote, ' '.repeat(secret.length));
      copied = span.end + 1;
    } else parts.push(secret.replace(/[^\n\r]+/g, blank));
  }
  parts.push(text.slice(copied));
  return parts.join('');
}

function blank(run: string): string {
  return ' '.repeat(run.length);
}

/** Index of the opening quote of a string or template literal token (after a Python prefix such as `rb`), or -1. */
function quoteIndexOf(token: string): number {
  for (let i = 0; i < 3 && i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 0x22 || c === 0x27 || c === 0x60) return i;
    if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return -1;
  }
  return -1;
}

/** The text between a literal token's quotes, whitespace marks as spaces. */
function literalBody(token: string, quoteIndex: number): string {
  const quote = token[quoteIndex];
  const triple = token.startsWith(quote.repeat(3), quoteIndex) && token.length >= quoteIndex + 6;
  const open = quoteIndex + (triple ? 3 : 1);
  const close = token.endsWith(quote) ? token.length - (triple ? 3 : 1) : token.length;
  return token.slice(open, Math.max(open, close)).replace(/\u2581/g, ' ');
}

/** The empty literal of a literal token's prefix and quote kind: `'x'` → `''`, `b"x"` → `b""`. */
function emptyLiteralOf(token: string, quoteIndex: number): string {
  const quote = token[quoteIndex];
  return `${token.slice(0, quoteIndex)}${quote}${quote}`;
}

/**
 * True for a token that holds a secret by itself: one that contains a
 * private key block, a well-known token shape, a password in a URL or a
 * high-entropy run, or a literal whose whole body looks generated. The check
 * every token passes before it is suggested, saved or written to a
 * checkpoint; tokens from `secretFreeTokens` always pass it.
 */
export function isSecretToken(token: string): boolean {
  if (token.length < MIN_SHAPED_SECRET_CHARS) return false;
  if (findSecretSpans(token.replace(/\u2581/g, ' ')).length > 0) return true;
  const quoteIndex = quoteIndexOf(token);
  return quoteIndex >= 0 && isRandomLiteralBody(literalBody(token, quoteIndex));
}

/**
 * A literal body that looks generated though it has characters outside the
 * base64 alphabet (`aB3$kL9#mN2@pQ5!`): mostly letters and digits, unlike a
 * regular expression's source, and without the punctuation of a path or URL.
 */
function isRandomLiteralBody(body: string): boolean {
  // Paths, URLs, URNs, query strings and escape tables (`\xaa\xb5…`) have structure that generated keys lack.
  if (/[:,/.=;\\]/.test(body) || !isHighEntropyValue(body)) return false;
  let alphanumeric = 0;
  for (let i = 0; i < body.length; i++) if (/[A-Za-z0-9]/.test(body[i])) alphanumeric++;
  return alphanumeric >= MIN_RANDOM_LITERAL_ALPHANUMERIC_SHARE * body.length;
}

/**
 * Whether the literal at `tokens[index]` is given to a secret-named key:
 * `password = '…'`, `password: '…'`, `password: string = '…'`,
 * `{ "password": "…" }`, `headers['Authorization'] = '…'`, `f(password='…')`.
 * Comparisons (`token === ')'`) are not assignments.
 */
function isAssignedToSecretName(tokens: readonly string[], index: number): boolean {
  const operator = tokens[index - 1];
  if (operator !== '=' && operator !== ':' && operator !== ':=') return false;
  let at = index - 2;
  if (operator === '=') {
    // A type annotation between the name and `=`: `name: Type = …`, `name: a.B[] = …`.
    let type = at;
    while (tokens[type] === ']' && tokens[type - 1] === '[') type -= 2;
    if (type >= 0 && isWordToken(tokens[type])) {
      while (tokens[type - 1] === '.' && type >= 2 && isWordToken(tokens[type - 2])) type -= 2;
      if (tokens[type - 1] === ':') at = type - 2;
    }
  }
  if (tokens[at] === '?' || tokens[at] === '!' || tokens[at] === ']') at--;
  const name = tokens[at];
  if (name === undefined) return false;
  if (isWordToken(name)) return isSecretName(name);
  const quoteIndex = quoteIndexOf(name);
  return quoteIndex >= 0 && isSecretName(literalBody(name, quoteIndex));
}

/**
 * The tokens of `text` with no secret among them: the text is redacted
 * (`redactSecretText`), then a literal given to a secret-named key or that
 * is a secret itself becomes the empty literal of its kind (`password =
 * 'Summer2024!'` is learned as `password = ''`), and any other token that
 * is a secret is dropped. Every path that learns from text uses this.
 */
export function secretFreeTokens(text: string, kind: LanguageKind): string[] {
  const tokens = tokenize(redactSecretText(text), kind);
  const kept: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const quoteIndex = quoteIndexOf(token);
    if (quoteIndex >= 0) {
      const body = literalBody(token, quoteIndex);
      const secret =
        isSecretToken(token) ||
        (!(token[quoteIndex] === '`' && body.includes('${')) && mayBeAssignedSecret(body.trim()) && isAssignedToSecretName(tokens, i));
      kept.push(secret ? emptyLiteralOf(token, quoteIndex) : token);
    } else if (!isSecretToken(token)) {
      kept.push(token);
    }
  }
  return kept;
}

/**
 * Whether a token may be offered as a completion: not a secret, not longer
 * than MAX_SUGGESTION_CHARS, and without real whitespace (the lexer never
 * makes such a token; the placeholders of `redactedPlaceholder` have it).
 * The one suggestion filter, used by the worker's beam search and the host's
 * suggest list.
 */
export function isSuggestible(token: string): boolean {
  return token.length <= MAX_SUGGESTION_CHARS && !/\s/.test(token) && !isSecretToken(token);
}

/**
 * What a saved vocabulary or a checkpoint's class list holds in place of a
 * token that fails `isSecretToken`: unique per position, and with a space,
 * which no token the lexer makes has, so it never matches text.
 */
export function redactedPlaceholder(index: number): string {
  return `<redacted secret ${index}>`;
}
