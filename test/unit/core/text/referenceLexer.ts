import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** CI clones the repository next to shared/, so the reference is found beside the checkout, never skipped. */
export function referenceLexerPath(): string {
  const path = resolve(repoRoot(), '..', 'shared', 'eval', 'reference_lexer.py');
  if (!existsSync(path)) {
    throw new Error(`The reference lexer is missing at ${path}; check out shared/ beside the repository.`);
  }
  return path;
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

/** Runs the reference's corpus preparation and returns its stats.json. */
export function runReferencePrepare(
  corpus: string,
  root: string,
  glob: string,
  excludeSuffixes: readonly string[],
  outDir: string,
): ReferenceStats {
  const args = [referenceLexerPath(), '--corpus', corpus, '--root', root, '--glob', glob, '--out', outDir];
  for (const suffix of excludeSuffixes) args.push(`--exclude-suffix=${suffix}`);
  runPython(args);
  return JSON.parse(readFileSync(join(outDir, corpus, 'stats.json'), 'utf8')) as ReferenceStats;
}

export interface ReferenceStats {
  files_found: number;
  files_empty_skipped: number;
  train: { files: number; tokens: number };
  test: { files: number; tokens: number };
}

/** Every `.tok` file under `dir`, keyed by its path relative to `dir` without `.tok`. */
export function readTokenFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (relDir: string): void => {
    if (!existsSync(join(dir, relDir))) return;
    for (const entry of readdirSync(join(dir, relDir), { withFileTypes: true })) {
      const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) walk(relPath);
      else if (relPath.endsWith('.tok')) out.set(relPath.slice(0, -'.tok'.length), readFileSync(join(dir, relPath), 'utf8'));
    }
  };
  walk('');
  return out;
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
export function referenceTokenize(snippets: readonly Snippet[]): string[][] {
  const dir = freshTempDir('metacomplete-lexer-');
  const driver = join(dir, 'driver.py');
  const input = join(dir, 'snippets.json');
  const output = join(dir, 'tokens.json');
  writeFileSync(driver, DRIVER, 'utf8');
  writeFileSync(input, JSON.stringify(snippets), 'utf8');
  runPython([driver, referenceLexerPath(), input, output]);
  return JSON.parse(readFileSync(output, 'utf8')) as string[][];
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
