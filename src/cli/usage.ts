import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { NumberRange } from '../core/experiment/settingRanges';
import { quoted } from '../core/text/quote';

/** A mistake in the command line: reported with the usage text and exit code 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` whose errors become a `UsageError` that names the bad option. */
export function parseCommandLine<T extends Options>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got ${quoted(value)})`);
}

/**
 * `--name N`: a whole number in plain decimal digits within `range`, or
 * `fallback` when the option is absent. `Number()` alone would take 0x10,
 * 1e1, 4.0 and blanks; options are written as people type counts.
 */
export function integerOption(name: string, value: string | undefined, range: NumberRange, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < range.min || parsed > range.max) {
    throw new UsageError(`--${name} must be an integer from ${range.min} to ${range.max}, written in decimal digits (got ${quoted(value)})`);
  }
  return parsed;
}
