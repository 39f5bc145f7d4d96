import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { languageKindOf } from './lexer';
import { secretFreeTokens } from './secrets';
import { splitOf } from './split';
import type { Split } from './split';

/** A source file ready for the models: its protocol split and tokens. */
export interface CorpusFile {
  /** Relative to the corpus root, forward slashes. */
  relPath: string;
  split: Split;
  tokens: string[];
}

/** A file or folder left out of the corpus, and why, so a run can say so. */
export interface SkippedFile {
  relPath: string;
  reason: string;
}

export interface CorpusOptions {
  /** File name endings to take, with the dot; the protocol's list by default. */
  extensions?: readonly string[];
  /** Larger files are skipped without being read. */
  maxFileBytes?: number;
}

export const DEFAULT_EXTENSIONS: readonly string[] = [
  '.ts', '.tsx', '.js', '.jsx', '.mjs', '.cjs', '.mts', '.cts', '.py', '.java',
];
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;

/** Type declarations describe code rather than being it; the protocol leaves them out. */
const DECLARATION_SUFFIXES: readonly string[] = ['.d.ts', '.d.mts', '.d.cts'];
const BINARY_PROBE_BYTES = 8192;
const MAX_LINE_CHARS = 5000;
const MAX_MEAN_LINE_CHARS = 300;
/** Below this size a few long lines are ordinary code, not a minified bundle. */
const MEAN_LINE_CHECK_MIN_CHARS = 4096;
/** Longest error text quoted in a skip reason. */
const MAX_REASON_CHARS = 200;

export function isSkippedFile(result: CorpusFile | SkippedFile): result is SkippedFile {
  return 'reason' in result;
}

/**
 * The checks and tokenization for one file's bytes, shared by the batch
 * loader and the editor's incremental indexer. Text is decoded as the
 * reference does (UTF-8, a BOM kept, universal newlines) so tokens match it.
 */
export function prepareFile(
  relPath: string,
  bytes: Uint8Array,
  maxFileBytes: number = DEFAULT_MAX_FILE_BYTES,
): CorpusFile | SkippedFile {
  if (bytes.length > maxFileBytes) return { relPath, reason: tooLargeReason(bytes.length, maxFileBytes) };
  const probeEnd = Math.min(bytes.length, BINARY_PROBE_BYTES);
  for (let k = 0; k < probeEnd; k++) {
    if (bytes[k] === 0) return { relPath, reason: 'binary file (NUL byte in the first 8 KB)' };
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { relPath, reason: 'not valid UTF-8 text' };
  }
  // Python's text mode turns \r\n and lone \r into \n before the reference lexer sees the text.
  if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
  const minified = minifiedReason(text);
  if (minified !== undefined) return { relPath, reason: minified };
  let tokens: string[];
  try {
    // Secrets are redacted here, where the worker's indexing and the CLI read every file they learn.
    tokens = secretFreeTokens(text, languageKindOf(relPath));
  } catch (error) {
    // A lexer failure is this file's problem only: the batch or run it belongs to goes on without it.
    return { relPath, reason: failureReason('could not be lexed', error) };
  }
  if (tokens.length === 0) return { relPath, reason: 'no tokens' };
  return { relPath, split: splitOf(relPath), tokens };
}

/** A skip reason that quotes an unexpected error, capped so that one odd failure cannot flood a log. */
export function failureReason(what: string, error: unknown): string {
  return `${what} (${errorMessage(error).slice(0, MAX_REASON_CHARS)})`;
}

// The reference reads with encoding='utf-8', which keeps a BOM as a character.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function tooLargeReason(size: number, limit: number): string {
  return `file is ${size} bytes, over the ${limit}-byte limit`;
}

function minifiedReason(text: string): string | undefined {
  let lines = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    lines++;
    if (lineEnd - lineStart > MAX_LINE_CHARS) {
      return `looks minified or generated (line ${lines} has ${lineEnd - lineStart} characters)`;
    }
    lineStart = lineEnd + 1;
  }
  if (text.length >= MEAN_LINE_CHECK_MIN_CHARS && lines > 0) {
    const mean = text.length / lines;
    if (mean > MAX_MEAN_LINE_CHARS) {
      return `looks minified or generated (mean line length ${Math.round(mean)} characters)`;
    }
  }
  return undefined;
}

/**
 * Loads every source file under `root`, in the protocol's order (relative
 * path, by code point). Folders named node_modules or starting with a dot are
 * not entered; files that cannot be used are listed in `skipped` and the rest
 * still load.
 */
export function loadCorpus(root: string, options: CorpusOptions = {}): { files: CorpusFile[]; skipped: SkippedFile[] } {
  const extensions = options.extensions ?? DEFAULT_EXTENSIONS;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!isDirectory(root)) {
    throw new Error(`Corpus folder ${root} does not exist or is not a folder; pass the folder that holds the sources.`);
  }
  const candidates: string[] = [];
  const skipped: SkippedFile[] = [];
  collectFiles(root, '', extensions, candidates, skipped);
  candidates.sort(compareCodePoints);

  const files: CorpusFile[] = [];
  for (const relPath of candidates) {
    const absolute = join(root, relPath);
    let bytes: Uint8Array;
    try {
      const size = statSync(absolute).size;
      if (size > maxFileBytes) {
        skipped.push({ relPath, reason: tooLargeReason(size, maxFileBytes) });
        continue;
      }
      bytes = readFileSync(absolute);
    } catch (error) {
      skipped.push({ relPath, reason: `could not be read: ${errorMessage(error)}` });
      continue;
    }
    const result = prepareFile(relPath, bytes, maxFileBytes);
    if (isSkippedFile(result)) skipped.push(result);
    else files.push(result);
  }
  skipped.sort((a, b) => compareCodePoints(a.relPath, b.relPath));
  return { files, skipped };
}

function collectFiles(
  root: string,
  relDir: string,
  extensions: readonly string[],
  out: string[],
  skipped: SkippedFile[],
): void {
  let entries;
  try {
    entries = readdirSync(relDir === '' ? root : join(root, relDir), { withFileTypes: true });
  } catch (error) {
    skipped.push({ relPath: relDir === '' ? '.' : relDir, reason: `folder could not be read: ${errorMessage(error)}` });
    return;
  }
  for (const entry of entries) {
    const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      // Linked files are read; linked folders are not entered, so a link cycle cannot loop.
      try {
        const target = statSync(join(root, relPath));
        isFile = target.isFile();
        if (target.isDirectory()) {
          if (!entry.name.startsWith('.') && entry.name !== 'node_modules') {
            skipped.push({ relPath, reason: 'symbolic link to a folder, not followed' });
          }
          continue;
        }
      } catch (error) {
        if (matchesExtension(entry.name, extensions)) {
          skipped.push({ relPath, reason: `could not be read: ${errorMessage(error)}` });
        }
        continue;
      }
      isDir = false;
    }
    if (isDir) {
      if (entry.name === 'node_modules') skipped.push({ relPath, reason: 'dependency folder (node_modules), not entered' });
      else if (entry.name.startsWith('.')) skipped.push({ relPath, reason: 'hidden folder, not entered' });
      else collectFiles(root, relPath, extensions, out, skipped);
      continue;
    }
    if (!isFile || !matchesExtension(entry.name, extensions)) continue;
    // The reference's glob ignores dot-files too.
    if (entry.name.startsWith('.')) skipped.push({ relPath, reason: 'hidden file' });
    else if (DECLARATION_SUFFIXES.some((suffix) => entry.name.endsWith(suffix))) {
      skipped.push({ relPath, reason: 'TypeScript declaration file' });
    } else out.push(relPath);
  }
}

function matchesExtension(name: string, extensions: readonly string[]): boolean {
  return extensions.some((extension) => name.endsWith(extension));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Python's string order (by code point). JavaScript's default compares UTF-16
 * units, which puts astral characters before U+E000-U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let k = 0; k < length; k++) {
    let x = a.charCodeAt(k);
    let y = b.charCodeAt(k);
    if (x === y) continue;
    // Moving surrogates above the rest of the BMP gives code point order.
    if (x >= 0xd800) x = x <= 0xdfff ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y <= 0xdfff ? y + 0x2000 : y - 0x800;
    return x - y;
  }
  return a.length - b.length;
}
