// How an error message shows input it did not expect. Used by every validator
// (state files, checkpoints, CLI options, both protocols), so nothing here may
// throw, whatever the value (BigInt, symbol, cyclic object, null prototype).

/** Input quoted in an error message is cut to this many characters, so a hostile file or argument cannot flood a log or a notification. */
export const MAX_QUOTED_CHARS = 60;

/** `text` in double quotes (JSON escapes), cut with "…" after `maxChars` characters. */
export function quoted(text: string, maxChars = MAX_QUOTED_CHARS): string {
  return text.length > maxChars ? `${JSON.stringify(text.slice(0, maxChars))}…` : JSON.stringify(text);
}

/**
 * A value of unknown type as an error message may show it: a string in
 * quotes, a number or BigInt as written, anything else by its kind; at most
 * MAX_QUOTED_CHARS long.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return cut(`${value.toString()}n`);
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object';
  }
}

function cut(text: string): string {
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text;
}
