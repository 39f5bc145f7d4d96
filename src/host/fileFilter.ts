// Which workspace files the indexer takes and why it leaves others out:
// globs, secret file names, build output, simple .gitignore patterns, links
// out of the workspace. No 'vscode' import. Secrets inside files are redacted
// by the engine (src/core/text/secrets.ts), not here.
import { realpath } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

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

/**
 * Where symbolic links may lead: files whose real path is inside one of the
 * workspace folders (themselves resolved, so a workspace opened through a
 * link works). A link out of the workspace, to `~/.npmrc` or `/etc`, would
 * have the indexer learn a file the user never opened as part of the code.
 */
export class WorkspaceBoundary {
  private readonly realRoots: Promise<string[]>;

  constructor(roots: readonly string[]) {
    this.realRoots = Promise.all(roots.map((root) => realpath(root).catch(() => resolve(root))));
  }

  /** Why `filePath` is not read (it resolves outside every folder), or undefined; a path that cannot be resolved is left to the read to report. */
  async escapeReason(filePath: string): Promise<string | undefined> {
    let real: string;
    try {
      real = await realpath(filePath);
    } catch {
      return undefined;
    }
    const roots = await this.realRoots;
    if (roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep))) return undefined;
    return 'it is a symbolic link (or lies under one) to a file outside the workspace folders, not followed';
  }
}
