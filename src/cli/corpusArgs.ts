import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CorpusOptions, SkippedFile } from '../core/text/corpus';
import { UsageError } from './usage';

export function requireDirectory(path: string): string {
  const absolute = resolve(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch {
    throw new UsageError(`${path} does not exist`);
  }
  if (!isDirectory) throw new UsageError(`${path} is not a folder`);
  return absolute;
}

/**
 * `--out <file>` checked before a long run rather than when it ends: its
 * folder must exist and be writable, and the file must not be a folder.
 */
export function requireWritableFile(option: string, path: string): string {
  const absolute = resolve(path);
  const folder = dirname(absolute);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    throw new UsageError(`--${option}: the folder ${folder} does not exist; create it or choose another path`);
  }
  if (!isFolder) throw new UsageError(`--${option}: ${folder} is not a folder; choose another path`);
  try {
    accessSync(folder, fsConstants.W_OK);
  } catch {
    throw new UsageError(`--${option}: the folder ${folder} is not writable; choose another path`);
  }
  if (statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--${option}: ${absolute} is a folder; give a file name`);
  return absolute;
}

/** Skipped files go to stderr, one line each, so a run over a messy folder says what it left out and why. */
export function reportSkipped(skipped: readonly SkippedFile[]): void {
  for (const file of skipped) process.stderr.write(`skipped ${file.relPath}: ${file.reason}\n`);
}

/** `--ext .ts,.tsx` narrows the protocol's default extensions (rxjs's protocol corpus is `.ts` only). */
export function corpusOptions(extensions: string | undefined): CorpusOptions {
  if (extensions === undefined) return {};
  const list = extensions.split(',').map((extension) => extension.trim()).filter((extension) => extension.length > 0);
  const bad = list.find((extension) => !/^\.[A-Za-z0-9.]+$/.test(extension));
  if (list.length === 0 || bad !== undefined) {
    throw new UsageError(`--ext takes extensions such as .ts,.tsx (got "${extensions}")`);
  }
  return { extensions: list };
}
