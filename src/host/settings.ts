// The typed form of MetaComplete's settings and how raw values map onto it.
// No 'vscode' import: src/host/config.ts reads VS Code's configuration through it.
import { DEFAULT_INCLUDE_GLOBS } from './fileFilter';

/** The engine skips larger files itself (core/text/corpus.ts DEFAULT_MAX_FILE_BYTES), so the setting stops there. */
export const MAX_FILE_SIZE_KB = 1024;

export interface MetaCompleteSettings {
  completionsEnabled: boolean;
  inlineCompletionsEnabled: boolean;
  maxFileSizeKB: number;
  include: string[];
  exclude: string[];
  debounceMs: number;
}

export const DEFAULT_SETTINGS: MetaCompleteSettings = {
  completionsEnabled: true,
  inlineCompletionsEnabled: true,
  maxFileSizeKB: 1024,
  include: [...DEFAULT_INCLUDE_GLOBS],
  exclude: [],
  debounceMs: 50,
};

/** The setting keys under `metacomplete.`, each mapped to its field. */
export const SETTING_KEYS = {
  completionsEnabled: 'completions.enabled',
  inlineCompletionsEnabled: 'inlineCompletions.enabled',
  maxFileSizeKB: 'maxFileSizeKB',
  include: 'include',
  exclude: 'exclude',
  debounceMs: 'debounceMs',
} as const satisfies Record<keyof MetaCompleteSettings, string>;

function booleanOr(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function numberIn(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function globsOr(value: unknown, fallback: string[]): string[] {
  if (!Array.isArray(value)) return fallback;
  return value.filter((glob): glob is string => typeof glob === 'string' && glob.trim() !== '');
}

/** Maps raw values (as `get(key)` returns them, possibly wrong types from a hand-edited file) to typed settings. */
export function readSettings(get: (key: string) => unknown): MetaCompleteSettings {
  const include = globsOr(get(SETTING_KEYS.include), DEFAULT_SETTINGS.include);
  return {
    completionsEnabled: booleanOr(get(SETTING_KEYS.completionsEnabled), DEFAULT_SETTINGS.completionsEnabled),
    inlineCompletionsEnabled: booleanOr(get(SETTING_KEYS.inlineCompletionsEnabled), DEFAULT_SETTINGS.inlineCompletionsEnabled),
    maxFileSizeKB: numberIn(get(SETTING_KEYS.maxFileSizeKB), 1, MAX_FILE_SIZE_KB, DEFAULT_SETTINGS.maxFileSizeKB),
    include: include.length > 0 ? include : DEFAULT_SETTINGS.include,
    exclude: globsOr(get(SETTING_KEYS.exclude), DEFAULT_SETTINGS.exclude),
    debounceMs: numberIn(get(SETTING_KEYS.debounceMs), 0, 1000, DEFAULT_SETTINGS.debounceMs),
  };
}
