import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** The repository root: the nearest folder above the compiled test holding package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${__dirname}; run the tests from the repository.`);
    dir = parent;
  }
  return dir;
}

function referenceLexerFile(): string {
  return resolve(repoRoot(), '..', 'shared', 'eval', 'reference_lexer.py');
}

/**
 * CI clones the repository next to shared/ and runs the reference live; a user's clone has no shared/,
 * so the tests compare with the golden files the reference wrote (`npm run golden:lexer`).
 */
export type ReferenceSource = 'live' | 'golden file';

export function referenceSource(): ReferenceSource {
  return existsSync(referenceLexerFile()) ? 'live' : 'golden file';
}

/** Under `npm run golden:lexer` the live reference rewrites the golden files instead of checking them. */
function updatingGolden(): boolean {
  return process.env.METACOMPLETE_GOLDEN === 'update';
}

/** The reference's path; throws when shared/ is not beside the repository. */
export function referenceLexerPath(): string {
  const path = referenceLexerFile();
  if (!existsSync(path)) {
    throw new Error(`The reference lexer is missing at ${path}; check out shared/ beside the repository.`);
  }
  return path;
}

/** Short content hashes keep the golden files small: parity needs equality, not the tokens themselves. */
export function shortHash(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

function goldenPath(name: string): string {
  return join(repoRoot(), 'test', 'fixtures', 'golden', `${name}.json`);
}

function readGolden<T>(name: string): T | undefined {
  const path = goldenPath(name);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as T) : undefined;
}

function writeGolden(name: string, value: unknown): void {
  mkdirSync(dirname(goldenPath(name)), { recursive: true });
  writeFileSync(goldenPath(name), `${JSON.stringify(value, null, 1)}\n`, 'utf8');
}

function staleGolden(name: string, why: string): Error {
  return new Error(`The golden file ${goldenPath(name)} disagrees with the live reference (${why}); run npm run golden:lexer and commit it.`);
}

function missingGolden(name: string): Error {
  return new Error(`The golden file ${goldenPath(name)} is missing and the reference is not beside the repository; run npm run golden:lexer with shared/ checked out.`);
}

function runPython(args: readonly string[]): string {
  const result = spawnSync('python3', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new Error(`Could not run python3 (${result.error.message}); install Python 3 to run the parity tests.`);
  if (result.status !== 0) throw new Error(`python3 ${args.join(' ')} failed with status ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

const tempDirs: string[] = [];

/** A new folder under the OS temp dir, removed by `removeTempDirs`. */
export function freshTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Runs the reference's corpus preparation and returns the counts of its stats.json. */
function livePrepare(
  corpus: string,
  root: string,
  glob: string,
  excludeSuffixes: readonly string[],
  outDir: string,
): ReferenceStats {
  const args = [referenceLexerPath(), '--corpus', corpus, '--root', root, '--glob', glob, '--out', outDir];
  for (const suffix of excludeSuffixes) args.push(`--exclude-suffix=${suffix}`);
  runPython(args);
  const stats = JSON.parse(readFileSync(join(outDir, corpus, 'stats.json'), 'utf8')) as ReferenceStats;
  // Only the counts: the rest (the temp root, OOV rates) would make the golden file differ on every run.
  return {
    files_found: stats.files_found,
    files_empty_skipped: stats.files_empty_skipped,
    train: { files: stats.train.files, tokens: stats.train.tokens },
    test: { files: stats.test.files, tokens: stats.test.tokens },
  };
}

export interface ReferenceStats {
  files_found: number;
  files_empty_skipped: number;
  train: { files: number; tokens: number };
  test: { files: number; tokens: number };
}

/** What the parity tests compare of a prepared corpus: its stats and, per file, the split and a hash of the dump bytes. */
export interface ReferenceCorpus {
  stats: ReferenceStats;
  files: Record<string, { split: string; hash: string }>;
}

/** Every `.tok` file under `dir`, keyed by its path relative to `dir` without `.tok`. */
export function readTokenFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [relPath, bytes] of readTokenFileBytes(dir)) out.set(relPath, bytes.toString('utf8'));
  return out;
}

function readTokenFileBytes(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (relDir: string): void => {
    if (!existsSync(join(dir, relDir))) return;
    for (const entry of readdirSync(join(dir, relDir), { withFileTypes: true })) {
      const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) walk(relPath);
      else if (relPath.endsWith('.tok')) out.set(relPath.slice(0, -'.tok'.length), readFileSync(join(dir, relPath)));
    }
  };
  walk('');
  return out;
}

/**
 * The reference's preparation of the corpus under `root`: live when shared/ is beside the repository
 * (checked against, or under `npm run golden:lexer` written to, the golden file `golden`), else the golden file.
 */
export function referencePrepare(
  golden: string,
  corpus: string,
  root: string,
  glob: string,
  excludeSuffixes: readonly string[],
): ReferenceCorpus & { source: ReferenceSource } {
  const stored = readGolden<ReferenceCorpus>(golden);
  if (referenceSource() === 'golden file') {
    if (updatingGolden()) referenceLexerPath();
    if (stored === undefined) throw missingGolden(golden);
    return { source: 'golden file', ...stored };
  }
  const outDir = freshTempDir('metacomplete-reference-');
  const stats = livePrepare(corpus, root, glob, excludeSuffixes, outDir);
  const entries: [string, { split: string; hash: string }][] = [];
  for (const split of ['train', 'test']) {
    for (const [relPath, bytes] of readTokenFileBytes(join(outDir, corpus, split))) entries.push([relPath, { split, hash: shortHash(bytes) }]);
  }
  // Sorted, so the golden file and its staleness check do not depend on directory order.
  const files = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const fresh: ReferenceCorpus = { stats, files };
  if (updatingGolden()) writeGolden(golden, fresh);
  else if (stored === undefined) throw missingGolden(golden);
  else if (JSON.stringify(stored) !== JSON.stringify(fresh)) throw staleGolden(golden, 'stats or file hashes differ');
  return { source: 'live', ...fresh };
}

export interface Snippet {
  text: string;
  isPython: boolean;
  isJs: boolean;
}

const DRIVER = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("reference_lexer", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with open(sys.argv[2], encoding="utf-8") as f:
    snippets = json.load(f)
out = [module.tokenize(s["text"], is_python=s["isPython"], is_js=s["isJs"]) for s in snippets]
with open(sys.argv[3], "w", encoding="utf-8") as f:
    json.dump(out, f)
`;

/** Tokenizes every snippet with the reference's own `tokenize`, in one python3 run. */
function liveTokenize(snippets: readonly Snippet[]): string[][] {
  const dir = freshTempDir('metacomplete-lexer-');
  const driver = join(dir, 'driver.py');
  const input = join(dir, 'snippets.json');
  const output = join(dir, 'tokens.json');
  writeFileSync(driver, DRIVER, 'utf8');
  writeFileSync(input, JSON.stringify(snippets), 'utf8');
  runPython([driver, referenceLexerPath(), input, output]);
  return JSON.parse(readFileSync(output, 'utf8')) as string[][];
}

function snippetKey(snippet: Snippet): string {
  return shortHash(JSON.stringify([snippet.text, snippet.isPython, snippet.isJs]));
}

function tokensHash(tokens: readonly string[]): string {
  return shortHash(JSON.stringify(tokens));
}

/** A golden tokenization: the hash of each snippet (text and variant) mapped to the hash of its reference tokens. */
type TokenGolden = Record<string, string>;

/** The reference's verdict on each snippet, from the live reference or its golden file. */
export class ReferenceTokens {
  constructor(
    readonly source: ReferenceSource,
    private readonly hashes: readonly (string | undefined)[],
    /** The reference's tokens, known only when it ran live. */
    private readonly tokens: readonly (string[] | undefined)[],
  ) {}

  /** How many snippets the reference has an answer for (all, unless a golden file covers a part). */
  get covered(): number {
    return this.hashes.filter((hash) => hash !== undefined).length;
  }

  /** Whether `tokens` are the reference's for snippet `index`; an uncovered snippet agrees vacuously. */
  agrees(index: number, tokens: readonly string[]): boolean {
    const hash = this.hashes[index];
    return hash === undefined || tokensHash(tokens) === hash;
  }

  /** Asserts agreement, quoting the reference's tokens when it ran live. */
  assertAgrees(index: number, tokens: readonly string[], what: string): void {
    if (this.agrees(index, tokens)) return;
    const expected = this.tokens[index];
    const theirs = expected === undefined ? `the tokens hashed ${this.hashes[index]} in the golden file` : JSON.stringify(expected);
    throw new Error(`${what}: ${JSON.stringify(tokens).slice(0, 400)} but the reference (${this.source}) gives ${theirs.slice(0, 400)}`);
  }
}

/**
 * The reference's tokens for `snippets`: live when shared/ is beside the repository (and then the golden
 * file `golden` must agree, so a stale one fails in CI), else from the golden file. With `partial`, snippets
 * the golden file does not hold are left uncovered instead of failing (a fuzz run with another seed or count).
 */
export function referenceTokenize(golden: string, snippets: readonly Snippet[], options: { partial?: boolean } = {}): ReferenceTokens {
  const keys = snippets.map(snippetKey);
  const stored = readGolden<TokenGolden>(golden);
  if (referenceSource() === 'golden file') {
    if (updatingGolden()) referenceLexerPath();
    if (stored === undefined) throw missingGolden(golden);
    const hashes = keys.map((key) => stored[key]);
    const missing = hashes.filter((hash) => hash === undefined).length;
    if (missing > 0 && !options.partial) {
      throw new Error(`The golden file ${goldenPath(golden)} lacks ${missing} of ${snippets.length} inputs; run npm run golden:lexer with shared/ checked out.`);
    }
    return new ReferenceTokens('golden file', hashes, []);
  }
  const tokens = liveTokenize(snippets);
  const hashes = tokens.map(tokensHash);
  if (updatingGolden()) {
    const fresh: TokenGolden = {};
    keys.forEach((key, k) => (fresh[key] = hashes[k]));
    writeGolden(golden, fresh);
  } else {
    if (stored === undefined) throw missingGolden(golden);
    const differing = keys.filter((key, k) => (key in stored ? stored[key] !== hashes[k] : !options.partial)).length;
    if (differing > 0) throw staleGolden(golden, `${differing} of ${snippets.length} inputs differ or are absent`);
  }
  return new ReferenceTokens('live', hashes, tokens);
}

/**
 * Pieces that stress the lexer's decisions: quote and template boundaries,
 * regex versus division, comments, numbers, Unicode spaces and digits,
 * astral characters, line continuations and newline styles.
 */
const FRAGMENTS: readonly string[] = [
  "'", '"', '`', "'''", '"""', '${', '}', '{', '(', ')', '[', ']', '/', '//', '/*', '*/', '/=', '/a/g', '/[/]/', '/"/',
  '\\', '\\\n', '\\\r\n', '\n', '\r\n', '\r', ' ', '  ', '\t', '\u00a0', '\u2028', '\u3000', '\u001c', '\u0085', '\ufeff',
  '\u200b', '0x1F', '0xfn', '0b101', '0b2', '0o17', '0x', '1e10', '1e+', '1.5e-3', '1.', '.5', '1_000n', '1..toString',
  '1.e5', '1._', '1.$', '12.5f', '3j', '\u0661\u0662', '\u00b2', '\u2460', '\u{1d7ce}', '\u{1d49c}', '\u00e9', '\u{1f600}',
  'return', 'typeof', 'instanceof', 'x', 'a1', 'rb', 'Rb', 'f', 'fR', 'u', 'br', 'bu', 'in', 'of', 'yield', '_', '$',
  '?.', '?', '.', '...', '>>>=', '>>>', '=>', '->', ':', '::', ':=', '#', '=', '==', '===', '+', '++', '-', '*', '**=',
  ',', ';', '@', '@=', '!', '<', '>', '&&=', '??', '%', '~', '^', '|',
];

/** A deterministic pseudo-random generator (mulberry32), so a failing snippet can be reproduced. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomSnippet(random: () => number, maxFragments: number): string {
  const count = 1 + Math.floor(random() * maxFragments);
  let text = '';
  for (let k = 0; k < count; k++) text += FRAGMENTS[Math.floor(random() * FRAGMENTS.length)];
  return text;
}
