// Which workspace files the indexer takes and why it leaves others out:
// globs, secrets, build output, simple .gitignore patterns. No 'vscode' import.

/** Never indexed by default: files that hold or look like they hold secrets. */
export const SECRET_GLOBS: readonly string[] = [
  '**/.env', '**/.env.*', '**/*.pem', '**/*.key', '**/id_rsa*', '**/*credentials*', '**/*.p12', '**/*.pfx',
];
/** Dependencies and build output, left out whatever the settings say. */
export const ALWAYS_EXCLUDED_GLOBS: readonly string[] = [
  '**/node_modules/**', '**/dist/**', '**/out/**', '**/build/**', '**/.git/**',
];
export const DEFAULT_INCLUDE_GLOBS: readonly string[] = ['**/*.{ts,tsx,js,jsx,mjs,cjs,mts,cts,py,java}'];

/**
 * A glob as VS Code writes them (`**`, `*`, `?`, `{a,b}`, `[abc]`) to a
 * RegExp over forward-slash relative paths. A pattern without a slash matches
 * at any depth, as in `files.exclude`.
 */
export function globToRegExp(glob: string, ignoreCase = false): RegExp {
  let pattern = glob.trim().replace(/\\/g, '/');
  if (pattern.startsWith('./')) pattern = pattern.slice(2);
  if (pattern.startsWith('/')) pattern = pattern.slice(1);
  else if (!pattern.includes('/')) pattern = `**/${pattern}`;
  let source = '';
  let braceDepth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        const slashAfter = pattern[i + 2] === '/';
        i += slashAfter ? 2 : 1;
        // `**/` is any number of whole folders, a final `**` anything.
        source += slashAfter ? '(?:[^/]*/)*' : '.*';
      } else {
        source += '[^/]*';
      }
    } else if (c === '?') source += '[^/]';
    else if (c === '{') {
      braceDepth++;
      source += '(?:';
    } else if (c === '}' && braceDepth > 0) {
      braceDepth--;
      source += ')';
    } else if (c === ',' && braceDepth > 0) source += '|';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) source += '\\[';
      else {
        source += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += c.replace(/[.+^$()|\\\]]/g, '\\$&');
  }
  // A folder pattern also covers what is inside it.
  return new RegExp(`^${source}(?:/.*)?$`, ignoreCase ? 'i' : '');
}

/**
 * The simple patterns of a .gitignore as globs: comments, blank lines and
 * negations (`!`) are left out, which can only index less than git would.
 */
export function gitignoreToGlobs(text: string): string[] {
  const globs: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(?<!\\)\s+$/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    let pattern = line.endsWith('/') ? line.slice(0, -1) : line;
    // A slash before the end anchors the pattern at the folder's root.
    if (pattern.includes('/')) pattern = `/${pattern.replace(/^\//, '')}`;
    globs.push(pattern);
  }
  return globs;
}

export interface FileFilterOptions {
  include: readonly string[];
  /** From the `metacomplete.exclude` setting. */
  exclude: readonly string[];
  /** The `files.exclude` and `search.exclude` globs that are on. */
  workbenchExclude: readonly string[];
  /** From the folder's .gitignore, relative to the folder. */
  gitignore: readonly string[];
}

interface Rule {
  matcher: RegExp;
  reason: string;
}

/** Decides, for paths relative to one workspace folder, whether to index and, if not, why. */
export class FileFilter {
  private readonly include: RegExp[];
  private readonly rules: Rule[];

  constructor(options: FileFilterOptions) {
    this.include = options.include.map((glob) => globToRegExp(glob));
    const rules = (globs: readonly string[], reason: string, ignoreCase = false) =>
      globs.map((glob) => ({ matcher: globToRegExp(glob, ignoreCase), reason: `${reason} (${glob})` }));
    this.rules = [
      // `awsCredentials.ts` and `.ENV` are as secret as their lower-case names.
      ...rules(SECRET_GLOBS, 'may hold secrets', true),
      ...rules(ALWAYS_EXCLUDED_GLOBS, 'dependency or build output'),
      ...rules(options.exclude, 'excluded by metacomplete.exclude'),
      ...rules(options.workbenchExclude, 'excluded by files.exclude or search.exclude'),
      ...rules(options.gitignore, 'ignored by .gitignore'),
    ];
  }

  isIncluded(relativePath: string): boolean {
    return this.include.some((matcher) => matcher.test(relativePath));
  }

  /** Why an included file is left out, or undefined when it is indexed. */
  exclusionReason(relativePath: string): string | undefined {
    return this.rules.find((rule) => rule.matcher.test(relativePath))?.reason;
  }
}

/** The globs of a `files.exclude`-style setting that are switched on (`true`); `when` clauses are left out. */
export function enabledGlobs(setting: unknown): string[] {
  if (typeof setting !== 'object' || setting === null) return [];
  return Object.entries(setting as Record<string, unknown>)
    .filter(([, value]) => value === true)
    .map(([glob]) => glob);
}

/**
 * The path the engine knows a file by: relative to its workspace folder, with
 * the folder's name in front when the workspace has several folders.
 */
export function enginePath(folderName: string, relativePath: string, folderCount: number): string {
  return folderCount > 1 ? `${folderName}/${relativePath}` : relativePath;
}

/** A 32-bit FNV-1a hash of a file's bytes with its length: tells a re-save of the same content from an edit. */
export function contentKey(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return `${bytes.length}:${(hash >>> 0).toString(16)}`;
}

/** Only the start of a file is scanned for secrets: keys sit near the top, and a full scan would slow indexing. */
export const SECRET_SCAN_BYTES = 64 * 1024;
/** Values at least this long and more random than this (bits per character) look generated, like keys. */
const MIN_SECRET_VALUE_LENGTH = 16;
const MIN_SECRET_ENTROPY_BITS = 3.5;

/** Shannon entropy of the characters of `text`, in bits per character. */
export function characterEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...text].length;
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** Identifiers and paths are mostly words; values with at least this share of word characters are not keys. */
const MAX_SECRET_WORD_SHARE = 0.4;

/** The share of `value`'s characters in word-like runs: `word` or `Word`, four letters or more, with a vowel. */
function wordShare(value: string): number {
  let inWords = 0;
  for (const [word] of value.matchAll(/[A-Z][a-z]{3,}|[a-z]{4,}/g)) {
    if (/[aeiouy]/i.test(word)) inWords += word.length;
  }
  return inWords / value.length;
}

/**
 * A credential-shaped value: long, no spaces or code punctuation, letters
 * mixed with digits, random-looking (entropy), and not made of words, as
 * `FlowResultV2` or `token_sha256_to_refresh` are though their entropy is high.
 */
function isHighEntropyValue(value: string): boolean {
  return (
    value.length >= MIN_SECRET_VALUE_LENGTH &&
    /^[A-Za-z0-9+/=_.~-]+$/.test(value) &&
    /[0-9]/.test(value) &&
    /[A-Za-z]/.test(value) &&
    characterEntropy(value) > MIN_SECRET_ENTROPY_BITS &&
    wordShare(value) < MAX_SECRET_WORD_SHARE
  );
}

/** Token formats that are secrets wherever they appear; the reasons name the kind, never the value. */
const SECRET_TOKEN_PATTERNS: readonly { pattern: RegExp; kind: string }[] = [
  // The header followed by base64 (after real or escaped line breaks): a header alone, as in docs, is no key.
  {
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\n|\\r)+[A-Za-z0-9+/=]{16,}/,
    kind: 'a private key block (-----BEGIN ... PRIVATE KEY-----)',
  },
  { pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])/, kind: 'an AWS access key id' },
  { pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,}/, kind: 'a GitHub token' },
  { pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{40,}/, kind: 'a GitHub fine-grained token' },
  { pattern: /(?<![A-Za-z0-9_])xox[baprs]-[A-Za-z0-9-]{10,}/, kind: 'a Slack token' },
];

/** `api_key = "..."`, `clientSecret: '...'`, `PASSWORD="..."`: a secret-like name given a quoted literal. */
const SECRET_ASSIGNMENT =
  /(?<![\w$-])([\w$]*?(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|private[_-]?key|auth[_-]?key|credentials?)[\w$]*)["']?\s*(?::\s*[A-Za-z_$][\w$.]*\s*)?(?::=|[:=])\s*[bru]?(["'`])([^"'`\s]+)\2/gi;

/** A `.env` line: `KEY=value` or `export KEY="value"`, with an optional comment after the value. */
const ENV_LINE = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s#'"]*))\s*(?:#.*)?$/;
/** A file is .env-like when at least this share of its meaningful lines are `KEY=value` lines (and at least two). */
const ENV_LINE_SHARE = 0.8;

/**
 * Why a file's content looks like it holds secrets, or undefined: private
 * key blocks, well-known token formats, a secret-named variable given a
 * high-entropy literal, or .env-style `KEY=value` lines with a high-entropy
 * value. Reads only the first SECRET_SCAN_BYTES. The reason names the line
 * and the kind of secret, never the secret itself, since it goes to the log.
 */
export function secretContentReason(bytes: Uint8Array): string | undefined {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, SECRET_SCAN_BYTES));
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const { pattern, kind } of SECRET_TOKEN_PATTERNS) {
    const match = pattern.exec(text);
    if (match !== null) return `content looks like a secret: ${kind} on line ${lineOf(match.index)}`;
  }
  for (const match of text.matchAll(SECRET_ASSIGNMENT)) {
    if (isHighEntropyValue(match[3])) {
      return `content looks like a secret: a high-entropy value assigned to ${match[1]} on line ${lineOf(match.index ?? 0)}`;
    }
  }
  return envFileSecret(text);
}

/** The reason for a .env-like text (mostly `KEY=value` lines) with a high-entropy value, or undefined. */
function envFileSecret(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  let meaningful = 0;
  let assignments = 0;
  let secret: { key: string; line: number } | undefined;
  lines.forEach((line, index) => {
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    meaningful++;
    const match = ENV_LINE.exec(line);
    if (match === null) return;
    assignments++;
    const value = match[2] ?? match[3] ?? match[4] ?? '';
    if (secret === undefined && isHighEntropyValue(value)) secret = { key: match[1], line: index + 1 };
  });
  if (secret === undefined || assignments < 2 || assignments < meaningful * ENV_LINE_SHARE) return undefined;
  return `content looks like a secret: a .env-style file with a high-entropy value for ${secret.key} on line ${secret.line}`;
}
